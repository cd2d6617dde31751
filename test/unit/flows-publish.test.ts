import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FlowDefinition } from '../../src/lib/flows/definition';
import { DeployedService, FLOW_INFO_FILE, FlowInfo, publishFlows, readFlowInfo } from '../../src/lib/flows/publish';
import { twilioClientFrom } from '../../src/lib/recordings/client';
import { FakeHost, startFakeHost } from '../support/fake-host';
import { FakeStudioApi, startFakeStudioApi } from '../support/fake-studio-api';

// publishFlows against the fake Studio API with the project's own client (twilioClientFrom, the one origin rule):
// a checkout without .twilioflowinfo finds each environment's flows by their friendly name, over every page.

const CREDS = { ACCOUNT_SID: 'AC00000000000000000000000000000000', AUTH_TOKEN: 'token' };
const sid = (prefix: string, n: number) => `${prefix}${String(n).padStart(32, '0')}`;

const environment = (suffix: string, n: number): DeployedService => ({
  serviceSid: sid('ZS', 1),
  environmentSid: sid('ZE', n),
  domainName: `media-service-1234${suffix ? `-${suffix}` : ''}.twil.io`,
  buildSid: sid('ZB', 1),
  functionSids: new Map(),
  assetPaths: new Set(),
});
const DEV = environment('dev', 1);
const PROD = environment('prod', 2);

const definition = (say: string): FlowDefinition => ({
  description: say,
  initial_state: 'Trigger',
  flags: { allow_concurrent_calls: true },
  states: [
    { name: 'Trigger', type: 'trigger', transitions: [{ event: 'incomingCall', next: 'hello' }], properties: {} },
    { name: 'hello', type: 'say-play', transitions: [{ event: 'audioComplete' }], properties: { say } },
  ],
});

let studio: FakeStudioApi;
let cwd: string;
let progress: string[];

const publish = (deployed: DeployedService, names = ['ivr'], api: FakeStudioApi = studio) =>
  publishFlows({
    client: twilioClientFrom({ ...CREDS, TWILIO_STUDIO_BASE_URL: api.url }),
    cwd,
    deployed,
    flows: names.map((name) => ({ name, definition: definition(`${name} on ${deployed.domainName}`) })),
    status: 'published',
    commitMessage: 'test',
    progress: (line) => progress.push(line),
  });

const listRequests = (api: FakeStudioApi) => api.requests.filter((r) => r === 'GET /v2/Flows').length;
/** unrelated flows of the account, enough to fill Studio's largest page (1000) and then some */
const addOtherFlows = (api: FakeStudioApi, count: number) => {
  for (let i = 0; i < count; i += 1) api.addFlow(`someone else's flow ${i}`);
};

beforeEach(async () => {
  studio = await startFakeStudioApi();
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-flows-publish-'));
  progress = [];
});
afterEach(async () => {
  await studio.close();
  fs.rmSync(cwd, { recursive: true, force: true });
});

describe('a checkout without .twilioflowinfo (every CI job) finds the flow by its friendly name', () => {
  it("updates this environment's existing flow, found on the second page; creates nothing", async () => {
    addOtherFlows(studio, 1500);
    const prodFlow = studio.addFlow(`ivr (${PROD.domainName})`);
    const devFlow = studio.addFlow(`ivr (${DEV.domainName})`);
    const stageFlow = studio.addFlow('ivr (media-service-1234-stage.twil.io)');
    const count = studio.flows.size;

    const result = await publish(DEV);

    expect(result.refused).toEqual([]);
    expect(result.published).toEqual([
      expect.objectContaining({ name: 'ivr', sid: devFlow, revision: 2, created: false, status: 'published' }),
    ]);
    expect(studio.flows.size).toBe(count);
    expect(studio.changes).toBe(1);
    expect(studio.flows.get(devFlow)!.definition).toEqual(definition(`ivr on ${DEV.domainName}`));
    // the flows of other environments are left alone
    for (const other of [prodFlow, stageFlow]) expect(studio.flows.get(other)!.revision).toBe(1);
    // Studio's own paging: 1000 a page at most, the second page through meta.next_page_url
    expect(listRequests(studio)).toBe(2);
    expect(progress).toContain(
      `ivr: no SID in ${FLOW_INFO_FILE} for environment ${DEV.environmentSid}; found flow ${devFlow} in Studio by its name "ivr (${DEV.domainName})"`,
    );
    // the cache is filled again, and the next run asks Studio for no list
    expect(readFlowInfo(cwd)).toEqual({
      [DEV.environmentSid]: { serviceSid: DEV.serviceSid, domainName: DEV.domainName, flows: { ivr: devFlow } },
    });
    const lists = listRequests(studio);
    expect((await publish(DEV)).published[0]).toMatchObject({ sid: devFlow, revision: 3, created: false });
    expect(listRequests(studio)).toBe(lists);
    expect(progress.filter((l) => /found flow/.test(l))).toHaveLength(1);
  });

  it('creates the flow when no flow of this environment has its name, never taking another environment’s', async () => {
    const prodFlow = studio.addFlow(`ivr (${PROD.domainName})`);
    studio.addFlow('ivr'); // a flow someone made by hand, no environment in its name
    const result = await publish(DEV);
    expect(result.published[0]).toMatchObject({ name: 'ivr', created: true, revision: 1 });
    expect(result.published[0].sid).not.toBe(prodFlow);
    expect(studio.flows.get(result.published[0].sid)!.friendlyName).toBe(`ivr (${DEV.domainName})`);
    expect(studio.flows.get(prodFlow)!.revision).toBe(1);
    expect(progress).toContain(`ivr: creating it in Studio as "ivr (${DEV.domainName})"`);
  });

  it('two flows under one name are refused naming both SIDs, and nothing changes in Studio or on disk', async () => {
    addOtherFlows(studio, 1200);
    const first = studio.addFlow(`ivr (${DEV.domainName})`);
    const other = studio.addFlow(`other (${DEV.domainName})`);
    const second = studio.addFlow(`ivr (${DEV.domainName})`);
    const result = await publish(DEV, ['other', 'ivr']);
    expect(result.published).toEqual([]);
    expect(result.refused).toEqual([
      `ivr: Studio has 2 flows named "ivr (${DEV.domainName})": ${first}, ${second}; not guessing which one to update. Delete the extra ones in the Console, or put the right SID under "${DEV.environmentSid}" in ${FLOW_INFO_FILE}`,
    ]);
    expect(studio.changes).toBe(0); // not even the flow whose name was unique
    expect(studio.flows.get(other)!.revision).toBe(1);
    expect(fs.existsSync(path.join(cwd, FLOW_INFO_FILE))).toBe(false);
  });

  it('the SID in .twilioflowinfo settles two flows under one name: it is a cache the team can fill', async () => {
    studio.addFlow(`ivr (${DEV.domainName})`);
    const chosen = studio.addFlow(`ivr (${DEV.domainName})`);
    const info: FlowInfo = {
      [DEV.environmentSid]: { serviceSid: DEV.serviceSid, domainName: DEV.domainName, flows: { ivr: chosen } },
    };
    fs.writeFileSync(path.join(cwd, FLOW_INFO_FILE), JSON.stringify(info));
    const result = await publish(DEV);
    expect(result.published[0]).toMatchObject({ sid: chosen, created: false });
    expect(listRequests(studio)).toBe(0);
  });

  it('a remembered flow deleted in the Console: the one left under its name is updated, else one is created', async () => {
    const gone = studio.addFlow(`ivr (${DEV.domainName})`);
    const remaining = studio.addFlow(`ivr (${DEV.domainName})`);
    const info: FlowInfo = {
      [DEV.environmentSid]: { serviceSid: DEV.serviceSid, domainName: DEV.domainName, flows: { ivr: gone } },
    };
    fs.writeFileSync(path.join(cwd, FLOW_INFO_FILE), JSON.stringify(info));
    studio.flows.delete(gone);
    const result = await publish(DEV);
    expect(result.published[0]).toMatchObject({ sid: remaining, created: false, revision: 2 });
    expect(progress).toContain(`ivr: flow ${gone} is gone from Studio (deleted in the Console?)`);
    expect(readFlowInfo(cwd)[DEV.environmentSid].flows.ivr).toBe(remaining);

    studio.flows.delete(remaining);
    const again = await publish(DEV);
    expect(again.published[0]).toMatchObject({ created: true, revision: 1 });
    expect(studio.flows.size).toBe(1);
  });

  it('.twilioflowinfo keeps each environment apart: prod gets its own flow, dev’s entry and flow stay', async () => {
    const dev = (await publish(DEV)).published[0];
    const prod = (await publish(PROD)).published[0];
    expect(prod.sid).not.toBe(dev.sid);
    expect(prod.created).toBe(true);
    expect(studio.flows.get(dev.sid)!.revision).toBe(1);
    expect(readFlowInfo(cwd)).toEqual({
      [DEV.environmentSid]: { serviceSid: DEV.serviceSid, domainName: DEV.domainName, flows: { ivr: dev.sid } },
      [PROD.environmentSid]: { serviceSid: PROD.serviceSid, domainName: PROD.domainName, flows: { ivr: prod.sid } },
    });
  });
});

describe('listing flows keeps to the one rule for paged clients', () => {
  let foreign: FakeHost;
  let offOrigin: FakeStudioApi;
  beforeEach(async () => {
    foreign = await startFakeHost((_req, res) => res.end('{}'));
    offOrigin = await startFakeStudioApi({ nextPageOrigin: foreign.url });
  });
  afterEach(async () => {
    await offOrigin.close();
    await foreign.close();
  });

  it('a next page naming another host is refused naming it; nothing is sent there and nothing changes', async () => {
    addOtherFlows(offOrigin, 1001);
    offOrigin.addFlow(`ivr (${DEV.domainName})`);
    await expect(publish(DEV, ['ivr'], offOrigin)).rejects.toThrow(
      new RegExp(`refused a request to ${foreign.host.replace(/\./g, '\\.')} .*not the configured Twilio API origin`),
    );
    expect(foreign.requests).toHaveLength(0);
    expect(offOrigin.changes).toBe(0);
  });
});

describe('the fake Studio refuses what Studio refuses when listing', () => {
  it.each(['0', '1001', 'x'])('PageSize=%s is refused', async (size) => {
    const auth = `Basic ${Buffer.from(`${CREDS.ACCOUNT_SID}:${CREDS.AUTH_TOKEN}`).toString('base64')}`;
    const res = await fetch(`${studio.url}/v2/Flows?PageSize=${size}`, { headers: { authorization: auth } });
    expect(res.status).toBe(400);
  });

  it('a later page without the PageToken its next_page_url carries is refused', async () => {
    const auth = `Basic ${Buffer.from(`${CREDS.ACCOUNT_SID}:${CREDS.AUTH_TOKEN}`).toString('base64')}`;
    addOtherFlows(studio, 3);
    const first = (await (
      await fetch(`${studio.url}/v2/Flows?PageSize=2`, { headers: { authorization: auth } })
    ).json()) as { flows: { definition: unknown }[]; meta: { next_page_url: string } };
    expect(first.flows).toHaveLength(2);
    expect(first.flows[0].definition).toBeNull();
    expect(first.meta.next_page_url).toBe('https://studio.twilio.com/v2/Flows?PageSize=2&Page=1&PageToken=PT1');
    const guessed = await fetch(`${studio.url}/v2/Flows?PageSize=2&Page=1`, { headers: { authorization: auth } });
    expect(guessed.status).toBe(400);
  });
});
