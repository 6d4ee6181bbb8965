// DEFAULT_STREAM in process: what an offline channel shows (its latest recording, the offline
// stream, or MistServer's configured default), never the requested stream itself.
import { join } from 'node:path';
import { unlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PayloadError } from '../../src/lib/errors';
import defaultStream from '../../src/triggers/default-stream';
import { fixture } from '../support/helpers';
import { cli } from '../support/cli';
import { answerSync } from '../support/trigger';
import { DAY, nowSec, record, setup } from '../recordings/support';

describe('DEFAULT_STREAM', async () => {
  const { db, root, alice } = await setup();
  const fallback = (payload: string) => answerSync(defaultStream, db, payload).answer;
  const offlineAlice = fixture('01-basic-push-alice/DEFAULT_STREAM-1'); // vod / streams+alice / 127.0.0.1 / HLS / url

  it("answers MistServer's configured default for a stream that is no channel (capture 20k)", () => {
    expect(fallback(fixture('20k-nonexistent/DEFAULT_STREAM-1'))).toBe('vod');
  });

  it('never answers the requested stream itself (capture 13: the default vod is the one failing)', () => {
    expect(fallback(fixture('13-handler-sleep6/DEFAULT_STREAM-1'))).toBe('');
  });

  it('answers the default for an offline channel without replay or placeholder', () => {
    expect(fallback(offlineAlice)).toBe('vod');
  });

  it('answers the offline-stream setting when set, unless that is the stream requested', async () => {
    expect((await cli(db, ['config', 'set', 'offline-stream', 'offline'])).status).toBe(0);
    expect(fallback(offlineAlice)).toBe('offline');
    expect(fallback('vod\noffline\n127.0.0.1\nHLS\nu')).toBe('vod');
    expect((await cli(db, ['config', 'unset', 'offline-stream'])).status).toBe(0);
    expect(fallback(offlineAlice)).toBe('vod');
  });

  it('replays the latest good recording while offline when replay-offline is on', async () => {
    expect((await cli(db, ['channel', 'set', 'alice', '--replay-offline', 'on'])).status).toBe(0);
    expect(fallback(offlineAlice)).toBe('vod'); // nothing recorded yet
    const older = record(db, root, alice, nowSec() - 3 * DAY);
    const latest = record(db, root, alice, nowSec() - DAY);
    record(db, root, alice, nowSec() - 100, { code: 'WRITE_FAILURE', path: join(root, String(alice), 'broken.mkv') });
    expect(fallback(offlineAlice)).toBe(`vod+${latest.id}`);
    unlinkSync(latest.path); // removed by hand: the next one plays
    expect(fallback(offlineAlice)).toBe(`vod+${older.id}`);
  });

  it('does not replay while the channel is live', () => {
    db.prepare('INSERT INTO broadcasts (user_id, started_at) VALUES (?, ?)').run(alice, Date.now());
    expect(fallback(offlineAlice)).toBe('vod');
    db.prepare('UPDATE broadcasts SET ended_at = ? WHERE user_id = ? AND ended_at IS NULL').run(Date.now(), alice);
    expect(fallback(offlineAlice)).toMatch(/^vod\+[a-z2-7]{16}$/);
  });

  it('does not replay the archive of a disabled channel', async () => {
    expect(fallback(offlineAlice)).toMatch(/^vod\+/);
    expect((await cli(db, ['user', 'disable', 'alice'])).status).toBe(0);
    expect(fallback(offlineAlice)).toBe('vod');
    expect((await cli(db, ['user', 'enable', 'alice'])).status).toBe(0);
    expect(fallback(offlineAlice)).toMatch(/^vod\+/);
  });

  it.each(['streams+../../etc', `streams+${'a'.repeat(5000)}`, 'streams+ålice☃', 'vod+../../etc/passwd'])(
    'answers the configured default for %s',
    (stream) => {
      expect(fallback(`vod\n${stream}\n127.0.0.1\nHLS\nu`)).toBe('vod');
    },
  );

  it('rejects a malformed payload in parse with a one-line PayloadError naming DEFAULT_STREAM', () => {
    expect(() => defaultStream.parse('vod\nstreams+alice')).toThrow(PayloadError);
    expect(() => defaultStream.parse('vod\nstreams+alice')).toThrow(/^DEFAULT_STREAM [^\n]+$/);
  });
});
