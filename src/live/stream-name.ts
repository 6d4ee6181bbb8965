// The one reading of a MistServer stream name, pure (no database, no Redis): `<base>+<rest>`, where
// MistServer lower-cases the base but passes the rest exactly as sent. A live channel's stream is
// `<stream-base>+<user>`, a recording's `<vod-base>+<recording id>`; names and ids are canonical
// lower-case. The one box (stream-channel.ts, triggers/stream-source.ts) and the edges (edge/) both
// read names here, so a rule about "+" or case changes in one place.
// The rest is NOT sanitised by MistServer: what this returns is either a validated name or id, or
// nothing; never build a path or a command from the raw rest.
import { canonicalName, nameProblem } from '../lib/names';
import { parseRecordingId } from '../recordings/recording-id';

/** A stream name split at its first "+", with what its rest could be (before the bases are known). */
export interface StreamName {
  /** The base, lower-cased as MistServer does. */
  base: string;
  /** The channel name the rest would be on the live base (canonical), or null when it cannot be one. */
  channel: string | null;
  /** The recording id the rest would be on the VoD base (canonical), or null when it cannot be one. */
  recordingId: string | null;
}

/** Splits `<base>+<rest>`; null for a name without "+" (a configured stream, whose name MistServer sanitised). */
export function parseStreamName(stream: string): StreamName | null {
  const plus = stream.indexOf('+');
  if (plus < 0) return null;
  const rest = stream.slice(plus + 1);
  const channel = canonicalName(rest);
  return {
    base: stream.slice(0, plus).toLowerCase(),
    channel: nameProblem(channel) === null ? channel : null,
    recordingId: parseRecordingId(rest),
  };
}

/** The channel of a live stream on `streamBase`, or null (another base, or a rest that is no channel name). */
export function liveChannelOf(name: StreamName | null, streamBase: string): string | null {
  return name !== null && name.base === streamBase ? name.channel : null;
}

/** The recording id of a stream on `vodBase`, or null (another base, or a rest that is no recording id). */
export function recordingOf(name: StreamName | null, vodBase: string): string | null {
  return name !== null && name.base === vodBase ? name.recordingId : null;
}

/** What a stream name is, given both bases: the live base wins when both are the same. */
export type StreamKind = { kind: 'live'; channel: string } | { kind: 'vod'; recordingId: string } | null;

/** Classifies a stream: a channel's live stream, a recording, or neither (null). */
export function classifyStream(name: StreamName | null, bases: { streamBase: string; vodBase: string }): StreamKind {
  if (name === null) return null;
  if (name.base === bases.streamBase) return name.channel === null ? null : { kind: 'live', channel: name.channel };
  const recordingId = recordingOf(name, bases.vodBase);
  return recordingId === null ? null : { kind: 'vod', recordingId };
}
