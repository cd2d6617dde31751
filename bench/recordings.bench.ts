// Keeping recordings, against s3rver on loopback (addressed directly, as media-store.bench.ts does: the tests'
// checking front buffers every request, which would be most of what is measured):
// (a) the time from the status callback's arrival to the recording kept (fetched through the fake REST API,
//     spooled, PUT, read back, record written), through the real handler, for 1-minute and 20-minute mono WAVs
//     (about 0.96 MB a minute, as Twilio stores them), one callback at a time: p50 and p99;
// (b) the peak memory of a fresh process keeping a 60 MB recording, beside the same recording fetched whole into
//     memory (the baseline a buffered keep would be): flat when it streams.
// No timing is asserted; a recording not kept fails the benchmark. Function cold loads are in soak.bench.ts.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { handleRecordingStatus } from '../src/lib/recordings/status-callback';
import { formatTable } from '../src/lib/text-table';
import { startFakeTwilioApi, wav } from '../test/support/fake-twilio-api';
import { S3RVER_CREDENTIALS, startS3Front } from '../test/support/s3-front';
import { quickNote, sized } from './quick';
import { percentile } from './stats';

const AC = 'AC' + '7'.repeat(32);
const TOKEN = 'recordings-bench-token';
const BUCKET = 'bench-recordings';
const BYTES_PER_MINUTE = 960_000;
const SIZES = [
  { label: '1-minute WAV', minutes: 1, runs: sized(20, 3) },
  { label: '20-minute WAV', minutes: sized(20, 2), runs: sized(8, 2) },
];
const BIG_BYTES = sized(60, 6) * 1024 * 1024;

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
const f0 = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : '-');

async function main(): Promise<void> {
  quickNote();
  const s3 = await startS3Front([BUCKET]);
  const audio = new Map<number, Buffer>();
  for (const { minutes } of SIZES) audio.set(minutes, wav(minutes, minutes * BYTES_PER_MINUTE));
  const big = wav(99, BIG_BYTES);
  let n = 0;
  const plan: { sid: string; call: string; minutes: number }[] = [];
  for (const size of SIZES)
    for (let i = 0; i < size.runs; i += 1) {
      n += 1;
      plan.push({ sid: `RE${hex(n, 32)}`, call: `CA${hex(n, 32)}`, minutes: size.minutes });
    }
  const bigSid = { sid: `RE${'b'.repeat(32)}`, call: `CA${'b'.repeat(32)}` };
  const bigSid2 = { sid: `RE${'c'.repeat(32)}`, call: `CA${'c'.repeat(32)}` };
  // a tenth of the size: the difference between the two is what keeping costs per byte (flat when it streams)
  const smallSid = { sid: `RE${'d'.repeat(32)}`, call: `CA${'d'.repeat(32)}` };
  const small = wav(98, Math.round(BIG_BYTES / 10));
  const api = await startFakeTwilioApi({
    accountSid: AC,
    authToken: TOKEN,
    recordings: [
      ...plan.map((p) => ({
        sid: p.sid,
        callSid: p.call,
        dateCreated: new Date(),
        duration: String(p.minutes * 60),
        status: 'completed' as const,
        audio: audio.get(p.minutes)!,
      })),
      ...[bigSid, bigSid2, smallSid].map((p) => ({
        sid: p.sid,
        callSid: p.call,
        dateCreated: new Date(),
        duration: '3600',
        status: 'completed' as const,
        audio: p === smallSid ? small : big,
      })),
    ],
  });
  const env: Record<string, string> = {
    ACCOUNT_SID: AC,
    AUTH_TOKEN: TOKEN,
    MEDIA_ALLOWED_HOSTS: api.host.host,
    MEDIA_STORE_URL: `s3://${BUCKET}/bench`,
    MEDIA_STORE_ENDPOINT: s3.backendEndpoint,
    MEDIA_STORE_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    MEDIA_STORE_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    // a 60 MB recording on loopback takes longer than a Function's 10 s allows on a shared machine; the bench
    // measures memory there, not the deadline
    MEDIA_FETCH_DEADLINE_MS: '9500',
  };
  const params = (p: { sid: string; call: string }) => ({
    AccountSid: AC,
    CallSid: p.call,
    RecordingSid: p.sid,
    RecordingUrl: `${api.baseUrl}/2010-04-01/Accounts/${AC}/Recordings/${p.sid}`,
    RecordingStatus: 'completed',
    RecordingChannels: '1',
  });
  try {
    const rows = [['recording', 'bytes', 'callbacks', 'kept', 'p50 ms', 'p99 ms', 'max ms']];
    for (const size of SIZES) {
      const times: number[] = [];
      let kept = 0;
      for (const p of plan.filter((q) => q.minutes === size.minutes)) {
        const receivedAt = Date.now();
        const res = await handleRecordingStatus({
          params: params(p),
          url: 'http://localhost/recordings/status',
          env,
          receivedAt,
          log: () => undefined,
        });
        times.push(Date.now() - receivedAt);
        if ((res.body as { kept?: string }).kept === 'stored') kept += 1;
      }
      rows.push([
        size.label,
        String(audio.get(size.minutes)!.length),
        String(times.length),
        String(kept),
        f0(percentile(times, 50)),
        f0(percentile(times, 99)),
        f0(Math.max(...times)),
      ]);
      if (kept !== times.length) throw new Error(`${size.label}: only ${kept} of ${times.length} kept`);
    }
    console.log('Status callback to recording kept (fetch, spool, PUT, read back, record), one at a time:');
    console.log(formatTable(rows));

    // spawned, not spawnSync: the fake API and the store answer from this process, which must keep running
    const child = (args: string[]) =>
      new Promise<{ ms: number; outcome: string; rssBeforeMB: number; maxRssMB: number; problems: string }>(
        (resolve, reject) => {
          const proc = spawn(
            process.execPath,
            [require.resolve('tsx/cli'), path.join(__dirname, 'recordings-child.ts'), ...args],
            { env: { ...process.env, ...env } },
          );
          let stdout = '';
          let stderr = '';
          proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
          proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
          proc.on('close', (code) => {
            const last = stdout.trim().split('\n').at(-1) ?? '';
            if (code !== 0 || !last.startsWith('{')) reject(new Error(`child failed: ${stderr.slice(0, 2000)}`));
            else
              resolve({
                ...(JSON.parse(last) as { ms: number; outcome: string; rssBeforeMB: number; maxRssMB: number }),
                problems: stderr.slice(0, 2000),
              });
          });
        },
      );
    const streamed = await child(['keep', JSON.stringify(params(bigSid))]);
    const smaller = await child(['keep', JSON.stringify(params(smallSid))]);
    const buffered = await child(['buffer', `${params(bigSid2).RecordingUrl}.wav`]);
    if (streamed.outcome !== 'stored')
      throw new Error(`the ${big.length}-byte recording was not kept: ${streamed.outcome}`);
    console.log(`\nPeak memory of a fresh process with a ${(big.length / 1024 / 1024).toFixed(0)} MB recording:`);
    console.log(
      formatTable([
        ['process', 'outcome', 'ms', 'RSS at start MB', 'peak RSS MB', 'growth MB'],
        ...[
          [`keep, a tenth of the size (${(small.length / 1024 / 1024).toFixed(0)} MB)`, smaller],
          ['keep (callback handler, spooled)', streamed],
          ['baseline: fetched whole into memory', buffered],
        ].map(([label, r]) => {
          const f = r as typeof streamed;
          return [
            label as string,
            f.outcome,
            f0(f.ms),
            f0(f.rssBeforeMB),
            f0(f.maxRssMB),
            f0(f.maxRssMB - f.rssBeforeMB),
          ];
        }),
      ]),
    );
  } finally {
    await api.close();
    await s3.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
