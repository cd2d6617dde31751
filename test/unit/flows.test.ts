import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  checkFlow,
  FlowCheckError,
  FlowDefinition,
  FlowTargets,
  formatFlow,
  Resolution,
  resolveFlow,
  unresolveFlow,
} from '../../src/lib/flows/definition';
import { buildTargets, checkFlowSources, functionRoute, listFlows } from '../../src/pipeline/flows';
import { listFunctions } from '../../src/pipeline/functions';
import { scanAssets } from '../../src/pipeline/asset-scan';
import { PROJECT_ROOT } from '../support/paths';

const targets: FlowTargets = {
  hasFunction: (route) => ['/studio/media-url', '/media', '/voice/greeting'].includes(route),
  mediaProblem: (name) => (['audio/greeting.wav', 'audio/hold-music.wav'].includes(name) ? undefined : 'no such file'),
};

const base = (): FlowDefinition => ({
  description: 'test',
  states: [
    {
      name: 'Trigger',
      type: 'trigger',
      transitions: [{ event: 'incomingCall', next: 'fn' }],
      properties: { offset: { x: 0, y: 0 } },
    },
    {
      name: 'fn',
      type: 'run-function',
      transitions: [
        { event: 'success', next: 'play' },
        { event: 'fail', next: 'play' },
      ],
      properties: { url: '${function:/studio/media-url}', parameters: [{ key: 'name', value: 'x' }] },
    },
    {
      name: 'play',
      type: 'say-play',
      transitions: [{ event: 'audioComplete' }],
      properties: { play: '${media:audio/greeting.wav}' },
    },
  ],
  initial_state: 'Trigger',
  flags: { allow_concurrent_calls: true },
});

const problems = (mutate: (d: FlowDefinition) => void, text?: string) => {
  const d = base();
  mutate(d);
  return checkFlow('ivr.json', text ?? JSON.stringify(d), targets).problems;
};

describe('the build checks of a flow, each naming the file and the culprit', () => {
  it('accepts a good flow', () => {
    expect(problems(() => undefined)).toEqual([]);
  });

  it.each<[string, (d: FlowDefinition) => void, RegExp]>([
    [
      'a dangling next',
      (d) => (d.states[1].transitions[1].next = 'nowhere'),
      /ivr\.json: state "fn" \(run-function\): transition "fail" goes to "nowhere", which names no state/,
    ],
    ['a duplicate state', (d) => d.states.push({ ...d.states[2] }), /ivr\.json: state "play" is defined twice/],
    ['no trigger', (d) => (d.states = d.states.slice(1)), /ivr\.json: no state of type "trigger"/],
    [
      'initial_state not the trigger',
      (d) => (d.initial_state = 'fn'),
      /ivr\.json: "initial_state" is "fn", not the trigger state "Trigger"/,
    ],
    [
      'a say-play with nothing to say',
      (d) => (d.states[2].properties = {}),
      /state "play" \(say-play\): needs one of "say", "play", "digits"/,
    ],
    [
      'a run-function without url or function_sid',
      (d) => delete d.states[1].properties.url,
      /state "fn" \(run-function\): needs one of "url", "function_sid"/,
    ],
    [
      'an unknown Function',
      (d) => (d.states[1].properties.url = '${function:/nope}'),
      /state "fn" \(run-function\): properties\.url: no Function "\/nope"/,
    ],
    [
      'an unknown media name',
      (d) => (d.states[2].properties.play = '${media:audio/gone.wav}'),
      /state "play" \(say-play\): properties\.play: media "audio\/gone\.wav" .*no such file/,
    ],
    [
      'an unknown placeholder kind',
      (d) => (d.states[2].properties.play = '${asset:x}'),
      /unknown placeholder "\$\{asset:x\}"/,
    ],
    [
      'SIDs beside a Function placeholder',
      (d) => (d.states[1].properties.function_sid = 'ZH1'),
      /remove "function_sid": flows:deploy fills them/,
    ],
    [
      'a placeholder inside a run-function url',
      (d) => (d.states[1].properties.url = '${function:/media}?x=1'),
      /"url" must be the placeholder alone/,
    ],
    [
      'a make-http-request without method',
      (d) =>
        d.states.push({
          name: 'h',
          type: 'make-http-request',
          transitions: [],
          properties: { url: 'https://x', content_type: 'application/json' },
        }),
      /state "h" \(make-http-request\): needs "method"/,
    ],
    [
      'a send-message without body',
      (d) => d.states.push({ name: 'm', type: 'send-message', transitions: [], properties: {} }),
      /state "m" \(send-message\): needs "body"/,
    ],
    [
      'a send-and-wait-for-reply without body',
      (d) =>
        d.states.push({ name: 'w', type: 'send-and-wait-for-reply', transitions: [], properties: { timeout: '3600' } }),
      /state "w" \(send-and-wait-for-reply\): needs "body"/,
    ],
    [
      'a split-based-on without input',
      (d) => d.states.push({ name: 's', type: 'split-based-on', transitions: [], properties: {} }),
      /state "s" \(split-based-on\): needs "input"/,
    ],
    [
      'a set-variables without variables',
      (d) => d.states.push({ name: 'v', type: 'set-variables', transitions: [], properties: { variables: [] } }),
      /state "v" \(set-variables\): needs "variables"/,
    ],
    [
      'transitions that are not a list',
      (d) => ((d.states[2] as unknown as Record<string, unknown>).transitions = {}),
      /state "play" \(say-play\): "transitions" must be an array/,
    ],
  ])('%s', (_name, mutate, message) => {
    expect(problems(mutate)).toEqual(expect.arrayContaining([expect.stringMatching(message)]));
  });

  it.each<[string, (d: FlowDefinition) => void, string]>([
    [
      'flags without allow_concurrent_calls',
      (d) => (d.flags = {}),
      'ivr.json: "flags" needs "allow_concurrent_calls" (true or false): Studio refuses flags without it',
    ],
    [
      'an unknown widget type',
      (d) => (d.states[2].type = 'say-ply'),
      'ivr.json: state "play" (say-ply): unknown widget type "say-ply": Studio refuses it (widget types: trigger, split-based-on,',
    ],
    [
      'an unknown transition event',
      (d) => (d.states[1].transitions[1].event = 'failed'),
      'ivr.json: state "fn" (run-function): unknown transition event "failed" (the events of run-function: success, fail)',
    ],
    [
      'a content template without its SID',
      (d) =>
        d.states.push({
          name: 'm',
          type: 'send-message',
          transitions: [{ event: 'sent' }],
          properties: { message_type: 'content_template', to: '{{contact.channel.address}}' },
        }),
      'ivr.json: state "m" (send-message): needs "content_sid"',
    ],
  ])('names what Studio refuses: %s', (_name, mutate, message) => {
    const found = problems(mutate);
    expect(found).toHaveLength(1);
    expect(found[0].startsWith(message)).toBe(true);
  });

  it('accepts what Studio accepts in real exports: an empty next, a template without body, a Function by its SIDs', () => {
    expect(
      problems((d) => {
        d.states[2].transitions = [{ event: 'audioComplete', next: '' }];
        d.flags = { allow_concurrent_calls: false };
        d.states[1].properties = { url: '', service_sid: 'ZS1', environment_sid: 'ZE1', function_sid: 'ZH1' };
        d.states.push(
          {
            name: 'opener',
            type: 'send-and-wait-for-reply',
            transitions: [
              { event: 'incomingMessage', next: 'closer' },
              { event: 'timeout', next: '' },
              { event: 'deliveryFailure' },
            ],
            properties: {
              from: '{{flow.channel.address}}',
              message_type: 'content_template',
              content_sid: 'HX00000000000000000000000000000000',
              content_variables: [{ key: '1', value: '{{flow.data.name}}' }],
              timeout: '3600',
            },
          },
          {
            name: 'closer',
            type: 'send-message',
            transitions: [{ event: 'sent' }, { event: 'failed', next: '' }],
            properties: { message_type: 'content_template', content_sid: 'HX00000000000000000000000000000001' },
          },
        );
      }),
    ).toEqual([]);
  });

  it('a pre-2019 export gets one line saying to export it again, not a line per widget', () => {
    // the old format's shape: an "InitialState" trigger, capitalised types, widgets linked by their FF SIDs
    const sid = (n: number) => `FF${String(n).padStart(32, '0')}`;
    const old = {
      description: 'old export',
      states: [
        {
          type: 'InitialState',
          name: 'Trigger',
          sid: sid(0),
          properties: { offset: { x: 0, y: 0 } },
          transitions: [
            { event: 'incomingMessage', conditions: [], next: null, uuid: 'u1' },
            { event: 'incomingCall', conditions: [], next: sid(1), uuid: 'u2' },
          ],
        },
        ...[1, 2, 3].map((n) => ({
          type: 'SayPlay',
          name: `say_${n}`,
          sid: sid(n),
          properties: { say: 'hello' },
          transitions: [{ event: 'audioComplete', conditions: [], next: n < 3 ? sid(n + 1) : null, uuid: `v${n}` }],
        })),
      ],
    };
    expect(checkFlow('old.json', JSON.stringify(old), targets).problems).toEqual([
      'old.json: an export from Studio\'s pre-2019 format (a trigger of type "InitialState", widgets linked by SID), which Studio\'s API no longer takes: open the flow in Studio and export it again (Export to JSON)',
    ]);
  });

  it('invalid JSON names the file', () => {
    expect(problems(() => undefined, '{"states": [')).toEqual([expect.stringMatching(/^ivr\.json: not valid JSON/)]);
  });

  it('gather-input-on-call and trigger need no property (none is required by Studio)', () => {
    expect(
      problems((d) => d.states.push({ name: 'g', type: 'gather-input-on-call', transitions: [], properties: {} })),
    ).toEqual([]);
  });

  it('leaves Liquid alone: {{...}} is never a placeholder, nor ${ without a kind', () => {
    expect(
      problems(
        (d) => (d.states[2].properties = { say: '{{trigger.message.Body}} costs ${5} {{widgets.x.parsed.url}}' }),
      ),
    ).toEqual([]);
  });
});

const resolution: Resolution = {
  serviceSid: 'ZS1',
  environmentSid: 'ZE1',
  baseUrl: 'https://svc-1234-dev.twil.io',
  functionSids: new Map([
    ['/studio/media-url', 'ZH1'],
    ['/media', 'ZH2'],
  ]),
  mediaUrl: (name) => `https://svc-1234-dev.twil.io/${name.replace('.wav', '.0123456789ab.wav')}`,
  mediaUrlPatterns: new Map([
    ['audio/greeting.wav', 'https://svc-1234-dev\\.twil\\.io/audio/greeting\\.[0-9a-f]{12}\\.wav'],
  ]),
};

describe('placeholders: resolved for Studio, and turned back when pulled', () => {
  it('fills a run-function widget with the three SIDs and the URL, and media with its immutable URL', () => {
    const d = base();
    d.states[2].properties.say = 'see ${function:/media}?name=x and {{widgets.fn.parsed.url}}';
    const out = resolveFlow(d, resolution);
    expect(out.states[1].properties).toEqual({
      service_sid: 'ZS1',
      environment_sid: 'ZE1',
      function_sid: 'ZH1',
      url: 'https://svc-1234-dev.twil.io/studio/media-url',
      parameters: [{ key: 'name', value: 'x' }],
    });
    expect(out.states[2].properties.play).toBe('https://svc-1234-dev.twil.io/audio/greeting.0123456789ab.wav');
    expect(out.states[2].properties.say).toBe(
      'see https://svc-1234-dev.twil.io/media?name=x and {{widgets.fn.parsed.url}}',
    );
    expect(d.states[1].properties).not.toHaveProperty('function_sid'); // the source is left as it was
  });

  it('round-trips: unresolve(resolve(d)) is d, byte for byte once formatted', () => {
    const d = base();
    d.states[2].properties.say = 'see ${function:/media}?name=x';
    expect(formatFlow(unresolveFlow(resolveFlow(d, resolution), resolution))).toBe(formatFlow(d));
  });

  it('any version of a media file comes back as its name; other services stay as they are', () => {
    const pulled = resolveFlow(base(), resolution);
    pulled.states[2].properties.play = 'https://svc-1234-dev.twil.io/audio/greeting.ffffffffffff.wav';
    pulled.states[1].properties.function_sid = 'ZHother';
    const back = unresolveFlow(pulled, resolution);
    expect(back.states[2].properties.play).toBe('${media:audio/greeting.wav}');
    expect(back.states[1].properties.function_sid).toBe('ZHother');
  });

  it('a URL of a longer path is not taken for a shorter route (/media vs /media-url)', () => {
    const d = resolveFlow(base(), resolution);
    d.states[2].properties.say = 'https://svc-1234-dev.twil.io/media-other';
    expect(unresolveFlow(d, resolution).states[2].properties.say).toBe('https://svc-1234-dev.twil.io/media-other');
  });
});

/** A flow with a Split whose condition value and the description name this service's URLs (as Studio holds them). */
const withSplit = (): FlowDefinition => {
  const d = base();
  d.description = 'Greeting at https://svc-1234-dev.twil.io/audio/greeting.0123456789ab.wav';
  d.states[0].transitions[0].next = 'split';
  d.states.push({
    name: 'split',
    type: 'split-based-on',
    transitions: [
      { event: 'noMatch', next: 'fn' },
      {
        event: 'match',
        next: 'play',
        conditions: [
          {
            friendly_name: 'the media Function',
            arguments: ['{{trigger.request.url}}'],
            type: 'equal_to',
            value: 'https://svc-1234-dev.twil.io/studio/media-url',
          },
        ],
      },
    ],
    properties: { input: '{{trigger.request.url}}' },
  });
  return d;
};

describe('where placeholders live: anywhere in the definition, the same for pull, check and deploy', () => {
  it('a pull puts placeholders in a Split condition and the description; the deploy resolves them there', () => {
    const pulled = unresolveFlow(withSplit(), resolution);
    expect(pulled.description).toBe('Greeting at ${media:audio/greeting.wav}');
    const condition = (d: FlowDefinition) => (d.states[3].transitions[1].conditions as { value: string }[])[0].value;
    expect(condition(pulled)).toBe('${function:/studio/media-url}');
    expect(checkFlow('ivr.json', formatFlow(pulled), targets).problems).toEqual([]);
    const deployed = resolveFlow(pulled, resolution);
    expect(JSON.stringify(deployed)).not.toContain('${');
    expect(deployed.description).toBe('Greeting at https://svc-1234-dev.twil.io/audio/greeting.0123456789ab.wav');
    expect(condition(deployed)).toBe('https://svc-1234-dev.twil.io/studio/media-url');
    expect(formatFlow(unresolveFlow(deployed, resolution))).toBe(formatFlow(pulled));
  });

  it('the check names a bad placeholder in a transition or at the top level, where it is', () => {
    const d = unresolveFlow(withSplit(), resolution);
    d.description = 'see ${media:audio/gone.wav}';
    (d.states[3].transitions[1].conditions as { value: string }[])[0].value = '${function:/nope}';
    expect(checkFlow('ivr.json', JSON.stringify(d), targets).problems).toEqual([
      'ivr.json: description: media "audio/gone.wav" (in "${media:audio/gone.wav}"): no such file',
      'ivr.json: state "split" (split-based-on): transitions[1].conditions[0].value: no Function "/nope" (in "${function:/nope}")',
    ]);
  });
});

describe('the project flows', () => {
  it('src/flows passes the build checks against the project, with routes as twilio-run deploys them', () => {
    expect(functionRoute('mms/inbound.protected.js')).toBe('/mms/inbound');
    const functions = listFunctions([path.join(PROJECT_ROOT, 'src', 'functions')]);
    const scan = scanAssets(path.join(PROJECT_ROOT, 'assets'));
    const flows = checkFlowSources(
      listFlows(path.join(PROJECT_ROOT, 'src', 'flows')),
      buildTargets(functions, scan, []),
    );
    expect(flows.map((f) => f.name)).toContain('ivr');
    const file = path.join(PROJECT_ROOT, 'src', 'flows', 'ivr.json');
    expect(formatFlow(JSON.parse(fs.readFileSync(file, 'utf8')) as FlowDefinition)).toBe(fs.readFileSync(file, 'utf8'));
  });

  it('refuses a file in src/flows that cannot name a flow', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tma-flows-'));
    fs.writeFileSync(path.join(dir, 'my flow.json'), '{}');
    expect(() => listFlows(dir)).toThrow(FlowCheckError);
    expect(() => listFlows(dir)).toThrow(/my flow\.json: a flow file is NAME\.json/);
  });
});
