// STREAM_SOURCE in process: vod+<id> plays the recording file; everything else keeps the
// configured (placeholder) source.
import { unlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PayloadError } from '../../src/lib/errors';
import streamSource from '../../src/triggers/stream-source';
import { fixture, fixtureEnv, tempDir } from '../support/helpers';
import { cli } from '../support/cli';
import { answerSync, fromMistEnv } from '../support/trigger';
import { nowSec, record, setup } from '../recordings/support';

describe('STREAM_SOURCE', async () => {
  const { db, root, alice } = await setup();
  const { id, path } = record(db, root, alice, nowSec() - 100);
  const source = (stream: string) => answerSync(streamSource, db, stream).answer;

  it('plays vod+<id> from the recording file', () => {
    expect(source(`vod+${id}`)).toBe(path);
    expect(source(`VOD+${id.toUpperCase()}`)).toBe(path);
  });

  it.each([
    ['a VoD name that is no id (capture 20i)', '20i-vod-wildcard/STREAM_SOURCE-1'],
    ['vod+alt (capture 20j)', '20j-vod-alt-source/STREAM_SOURCE-1'],
    ['an unknown stream (capture 20k)', '20k-nonexistent/STREAM_SOURCE-1'],
    ['the VoD base itself (capture 20k)', '20k-nonexistent/STREAM_SOURCE-2'],
    ['a live channel (capture 01)', '01-basic-push-alice/STREAM_SOURCE-1'],
  ])('keeps the configured source (empty answer) for %s', (_, name) => {
    expect(answerSync(streamSource, db, fixture(name), fromMistEnv(fixtureEnv(name))).answer).toBe('');
  });

  it.each(['vod+../../etc/passwd', `vod+${'a'.repeat(4000)}`, 'vod+ääääääääääääääää', 'vod+aaaaaaaaaaaaaaaa'])(
    'answers empty for %s',
    (stream) => {
      expect(source(stream)).toBe('');
    },
  );

  it('answers empty once the file is gone, the row is being deleted, or the root moved', async () => {
    const other = record(db, root, alice, nowSec() - 90);
    expect(source(`vod+${other.id}`)).toBe(other.path);
    unlinkSync(other.path);
    expect(source(`vod+${other.id}`)).toBe('');

    const marked = record(db, root, alice, nowSec() - 80);
    db.prepare('UPDATE recordings SET deleting_at = 1 WHERE id = ?').run(marked.id);
    expect(source(`vod+${marked.id}`)).toBe('');

    expect((await cli(db, ['config', 'set', 'recordings-root', tempDir()])).status).toBe(0);
    expect(source(`vod+${id}`)).toBe('');
    expect((await cli(db, ['config', 'set', 'recordings-root', root])).status).toBe(0);
    expect(source(`vod+${id}`)).toBe(path);
  });

  it('uses the vod-base setting', async () => {
    expect((await cli(db, ['config', 'set', 'vod-base', 'replay'])).status).toBe(0);
    expect(source(`vod+${id}`)).toBe('');
    expect(source(`replay+${id}`)).toBe(path);
    expect((await cli(db, ['config', 'unset', 'vod-base'])).status).toBe(0);
    expect(source(`vod+${id}`)).toBe(path);
  });

  it('rejects a payload of more than one line in parse', () => {
    expect(() => streamSource.parse('vod+x\ny')).toThrow(PayloadError);
    expect(() => streamSource.parse('vod+x\ny')).toThrow(/^STREAM_SOURCE [^\n]+$/);
  });
});
