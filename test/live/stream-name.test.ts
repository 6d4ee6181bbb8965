// The one reading of stream names that the one box and the edges share (src/live/stream-name.ts).
import { describe, expect, it } from 'vitest';
import { classifyStream, liveChannelOf, parseStreamName, recordingOf } from '../../src/live/stream-name';

const bases = { streamBase: 'streams', vodBase: 'vod' };
const ID = 'abcdefghijklmnop';

describe('parseStreamName', () => {
  it.each([
    // [stream, expected classification]
    ['streams+alice', { kind: 'live', channel: 'alice' }],
    ['Streams+Alice', { kind: 'live', channel: 'alice' }], // MistServer lower-cases the base; names are canonical
    ['STREAMS+bob_2-x', { kind: 'live', channel: 'bob_2-x' }],
    [`vod+${ID}`, { kind: 'vod', recordingId: ID }],
    [`VOD+${ID.toUpperCase()}`, { kind: 'vod', recordingId: ID }],
    ['streams+alice+x', null], // only the first "+" splits: the rest "alice+x" is no name
    ['streams+', null],
    ['+alice', null],
    ['streams', null], // a configured stream
    ['vod', null],
    ['vod+alice', null], // no recording id
    [`other+${ID}`, null],
    ['streams+../etc', null],
    ['streams+a b', null],
    ['streams+alice\n', null],
    [`streams+${'a'.repeat(33)}`, null],
    [`streams+${ID}`, { kind: 'live', channel: ID }], // an id-shaped name on the live base is a channel
  ])('%j is %j', (stream, expected) => {
    expect(classifyStream(parseStreamName(stream), bases)).toEqual(expected);
  });

  it('reads both candidates before the bases are known (the edge pipelines its reads on them)', () => {
    expect(parseStreamName(`x+${ID}`)).toEqual({ base: 'x', channel: ID, recordingId: ID });
    expect(parseStreamName('x+Alice')).toEqual({ base: 'x', channel: 'alice', recordingId: null });
    expect(parseStreamName('x+a.b')).toEqual({ base: 'x', channel: null, recordingId: null });
    expect(parseStreamName('no-plus')).toBeNull();
  });

  it('checks the base for each kind separately', () => {
    const name = parseStreamName(`Replay+${ID}`);
    expect(recordingOf(name, 'replay')).toBe(ID);
    expect(recordingOf(name, 'vod')).toBeNull();
    expect(liveChannelOf(name, 'replay')).toBe(ID);
    expect(liveChannelOf(parseStreamName('streams+al.ice'), 'streams')).toBeNull();
    expect(liveChannelOf(null, 'streams')).toBeNull();
  });

  it('lets the live base win when both bases are the same', () => {
    expect(classifyStream(parseStreamName(`same+${ID}`), { streamBase: 'same', vodBase: 'same' })).toEqual({ kind: 'live', channel: ID });
  });
});
