// The open and norecord tags from the built STREAM_BUFFER program (what it decides: test/access/open-channel.test.ts):
// sent over MistServer's local UDP API before the program exits, so MistServer has it by the time
// viewers arrive.
import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { UDP_API_PORT } from '../../src/mist/stream-tags';
import { freshDb, runTriggerAsync } from '../support/helpers';
import { addUser, cli } from '../support/cli';
import { waitUntil } from '../support/wait';

describe('STREAM_BUFFER sends the tag over the local UDP API before it exits (the built program)', async () => {
  it('tags an open channel at FULL and untags a private one, as datagrams to 127.0.0.1:4242', async () => {
    const socket = createSocket('udp4');
    const bound = await new Promise<boolean>((resolve) => {
      socket.once('error', () => resolve(false));
      socket.bind(UDP_API_PORT, '127.0.0.1', () => resolve(true));
    });
    // Another process holds the port on this host (a MistServer outside isolated.sh): say so, do not pass silently.
    if (!bound) throw new Error(`127.0.0.1:${UDP_API_PORT}/udp is taken on this host; cannot observe the datagrams`);
    const got: unknown[] = [];
    // Other test files run at the same time and send their own datagrams here: keep only this test's channels.
    const ours = (d: unknown) => /streams\+udp(alice|carol)"/.test(JSON.stringify(d));
    socket.on('message', (m) => {
      const d: unknown = JSON.parse(m.toString());
      if (ours(d)) got.push(d);
    });
    try {
      const db = freshDb();
      await addUser(db, 'udpalice');
      await addUser(db, 'udpcarol');
      // No MistServer has run this database's STREAM_BUFFER and mist-api is not set: no stream can
      // carry the tag, so the CLI sends nothing (a datagram would be noise to whatever listens).
      await cli(db, ['channel', 'set', 'udpcarol', '--access', 'private']);
      // Nothing to wait for: a fixed window in which no datagram may arrive.
      await new Promise((r) => setTimeout(r, 200));
      expect(got).toEqual([]);
      const full = (user: string) =>
        runTriggerAsync({ program: 'stream-buffer', trigger: 'STREAM_BUFFER', payload: `streams+${user}\nFULL\n{}`, db });
      expect((await full('udpalice')).status).toBe(0);
      expect((await full('udpcarol')).status).toBe(0);
      await waitUntil("both programs' datagrams", () => got.length >= 2);
      // One datagram per stream carries both tags: open or not, and norecord (neither records), which
      // inhibits the recording push so MistServer stops retrying it.
      expect(got).toEqual([
        { tag_stream: { 'streams+udpalice': ['open', 'norecord'] } },
        { tag_stream: { 'streams+udpcarol': ['norecord'] }, untag_stream: { 'streams+udpcarol': ['open'] } },
      ]);
      got.length = 0;
      // Now a MistServer runs this database's triggers: without mist-api the CLI's own untag goes over
      // the same UDP API (the fallback).
      await cli(db, ['channel', 'set', 'udpalice', '--access', 'private']);
      await waitUntil("the CLI's untag datagram", () => got.length >= 1);
      expect(got).toEqual([{ untag_stream: { 'streams+udpalice': 'open' } }]);
      // Recording switched on and off while live (FULL opened the broadcast): the norecord tag follows.
      got.length = 0;
      await cli(db, ['channel', 'set', 'udpalice', '--record', 'on']);
      await cli(db, ['channel', 'set', 'udpalice', '--record', 'off']);
      await waitUntil('the two norecord datagrams', () => got.length >= 2);
      expect(got).toEqual([{ untag_stream: { 'streams+udpalice': 'norecord' } }, { tag_stream: { 'streams+udpalice': 'norecord' } }]);
    } finally {
      socket.close();
    }
  });
});
