import { LogRecord } from '../../src/lib/log';
import { handleRecordingStatus } from '../../src/lib/recordings/status-callback';

const AUTH_TOKEN = 'unit-auth-token';
const URL = 'https://example.twil.io/recordings/status';
const SID = `RE${'a'.repeat(32)}`;

async function callback(params: Record<string, string>) {
  const logs: LogRecord[] = [];
  const response = await handleRecordingStatus({
    params,
    url: URL,
    env: { AUTH_TOKEN },
    receivedAt: Date.now(),
    log: (record) => logs.push(record),
  });
  return { response, logs, text: JSON.stringify(response.body) + logs.map((l) => JSON.stringify(l)).join('\n') };
}

describe('recording status callback: echoed values are bounded', () => {
  it('echoes an unknown 10 kB RecordingStatus cut short, saying how long it was', async () => {
    const huge = 'x'.repeat(10240);
    const { response, logs, text } = await callback({
      RecordingSid: SID,
      RecordingStatus: huge,
      CallSid: `CA${'b'.repeat(5000)}`,
      ErrorCode: '9'.repeat(3000),
    });
    expect(response.status).toBe(200);
    expect(text).not.toContain('x'.repeat(100));
    expect(text).not.toContain('b'.repeat(100));
    expect(text.length).toBeLessThan(2000);
    expect((response.body as { status: string }).status).toContain('(10240 characters)');
    expect(logs[0]).toMatchObject({ event: 'recording_status', level: 'warn' });
    expect(String(logs[0].problem)).toContain('unknown RecordingStatus');
  });
  it('keeps a known status and a short ErrorCode as they are', async () => {
    const { response, logs } = await callback({ RecordingSid: SID, RecordingStatus: 'absent', ErrorCode: '13617' });
    expect(response.body).toEqual({ recordingSid: SID, status: 'absent' });
    expect(logs[0]).toMatchObject({ status: 'absent', errorCode: '13617' });
  });
  it('bounds a malformed RecordingSid in the 400 answer', async () => {
    const { response } = await callback({ RecordingSid: 'R'.repeat(10000), RecordingStatus: 'completed' });
    expect(response.status).toBe(400);
    expect(JSON.stringify(response.body).length).toBeLessThan(300);
  });
});
