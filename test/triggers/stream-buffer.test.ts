// STREAM_BUFFER and STREAM_END in process: bad input. A malformed health JSON keeps the state
// change; a malformed payload is a one-line PayloadError naming the trigger (the runner turns it
// into a stderr line and no answer; see test/process/programs.test.ts). The lifecycle is in test/live/.
import { describe, expect, it } from 'vitest';
import { PayloadError } from '../../src/lib/errors';
import streamBuffer from '../../src/triggers/stream-buffer';
import streamEnd from '../../src/triggers/stream-end';
import { fixture } from '../support/helpers';
import { addUser, cliJson } from '../support/cli';
import { memoryDb } from '../support/db';
import { at, deliver, full } from '../live/deliveries';

describe('bad input', async () => {
  const db = memoryDb();
  await addUser(db, 'alice');

  it('keeps the state change when the health JSON is malformed, with one log line', async () => {
    const r = deliver(db, at('STREAM_BUFFER', 'streams+alice\nFULL\n{"video_H264":{"codec":', 6_000_000));
    expect(r.lines).toEqual([expect.stringMatching(/malformed health JSON/)]);
    expect(await cliJson(db, ['status', 'alice'])).toMatchObject({ state: 'live', health: null });
  });

  it.each([
    [streamBuffer, 'an unknown state', 'streams+alice\nHALF\n{}'],
    [streamBuffer, 'a stream name with a newline (capture 08)', fixture('08-pushrewrite-trailing-newline/STREAM_BUFFER-1')],
    [streamBuffer, 'a single line', 'streams+alice'],
    [streamEnd, 'eight lines (capture 10)', fixture('10-handler-exit1-with-output/STREAM_END-1')],
    [streamEnd, 'a count that is not a number', 'streams+alice\n0\nlots\n1\n1\n1\n0'],
  ] as const)('%#: rejects %s in parse with a one-line PayloadError naming the trigger', (trigger, _, payload) => {
    expect(() => trigger.parse(payload)).toThrow(PayloadError);
    expect(() => trigger.parse(payload)).toThrow(new RegExp(`^${trigger.name} [^\\n]+$`));
  });

  it('ignores events of streams that are not channels, saying so only when debugging', () => {
    expect(deliver(db, full('vod', 6_100_000)).lines).toEqual([]);
    expect(deliver(db, full('streams+nobody', 6_100_000), true).lines).toEqual([expect.stringMatching(/not a channel stream/)]);
    expect(deliver(db, at('STREAM_END', 'other\n0\n1\n1\n1\n1\n0', 6_100_000), true).lines).toEqual([
      expect.stringMatching(/not a channel stream/),
    ]);
  });
});
