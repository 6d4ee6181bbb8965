// Payloads with CRLF line ends (or a trailing "\r") gave answers ending in "\r"
// (PUSH_OUT_START, DEFAULT_STREAM). The payload splitter drops a line's trailing "\r"; a value
// answer never contains one. Run through the built programs, as MistServer runs them.
import { describe, expect, it } from 'vitest';
import { fixture, freshDb, runTrigger } from '../support/helpers';
import { addUser, cli } from '../support/cli';

const crlf = (payload: string) => payload.replaceAll('\n', '\r\n') + '\r';

describe('CRLF payloads', async () => {
  it('PUSH_OUT_START: a restream target comes back without the "\\r"', async () => {
    const db = freshDb();
    await addUser(db, 'alice');
    const r = runTrigger({ trigger: 'PUSH_OUT_START', db, payload: 'streams+alice\r\nrtmp://restream.example/live/x\r' });
    expect(r.stdout).toBe('rtmp://restream.example/live/x');
  });

  it('PUSH_OUT_START: a recording path is built as for LF payloads', async () => {
    const db = freshDb();
    await addUser(db, 'alice');
    const root = `${db}-recordings`;
    expect((await cli(db, ['config', 'set', 'recordings-root', root])).status).toBe(0);
    expect((await cli(db, ['channel', 'set', 'alice', '--record', 'on'])).status).toBe(0);
    const r = runTrigger({
      trigger: 'PUSH_OUT_START',
      db,
      payload: crlf(fixture('01-basic-push-alice/PUSH_OUT_START-1')),
      env: { MIST_TIME: '1795461836000' },
    });
    expect(r.stdout).toMatch(/^\/.*\.mkv$/);
    expect(r.stdout).not.toMatch(/\r/);
  });

  it('DEFAULT_STREAM: the configured default comes back without the "\\r"', async () => {
    const db = freshDb();
    await addUser(db, 'alice');
    const r = runTrigger({ trigger: 'DEFAULT_STREAM', db, payload: crlf(fixture('01-basic-push-alice/DEFAULT_STREAM-1')) });
    expect(r.stdout).toBe('vod');
  });

  it('PUSH_REWRITE and USER_NEW answer as for the LF payload', async () => {
    const db = freshDb();
    const key = await addUser(db, 'alice');
    const push = runTrigger({
      trigger: 'PUSH_REWRITE',
      db,
      payload: crlf(fixture('01-basic-push-alice/PUSH_REWRITE-1').replaceAll('streams+alice', key)),
    });
    expect(push.stdout).toBe('streams+alice');
    const view = runTrigger({ trigger: 'USER_NEW', db, payload: crlf(fixture('01-basic-push-alice/USER_NEW-1')) });
    expect(view.stdout).toBe('true');
  });
});
