// MistServer's STREAM_BUFFER health JSON, reduced to what an operator reads: per track codec,
// resolution, frame or sample rate, bitrate, buffer and jitter. Tolerant by design: unknown
// fields are ignored, odd values are dropped, and only a non-object top level is an error.

/** One track as summarised from the health JSON. */
export interface TrackHealth {
  /** MistServer's track key, e.g. video_H264_640x360_25fps_1. */
  name: string;
  type: 'video' | 'audio' | 'meta' | 'other';
  codec: string | null;
  width: number | null;
  height: number | null;
  fps: number | null;
  sampleRate: number | null;
  channels: number | null;
  kbits: number | null;
  bufferMs: number | null;
  jitterMs: number | null;
}

/** The stream-wide health with its tracks. */
export interface StreamHealth {
  bufferMs: number | null;
  jitterMs: number | null;
  /** MistServer's own words on what is wrong (DRY), or null. */
  issues: string | null;
  tracks: TrackHealth[];
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function trackType(name: string, t: Json): TrackHealth['type'] {
  const prefix = name.split('_', 1)[0];
  if (prefix === 'video' || prefix === 'audio' || prefix === 'meta') return prefix;
  if (num(t.width) !== null) return 'video';
  if (num(t.rate) !== null) return 'audio';
  return 'other';
}

function summariseTrack(name: string, t: Json): TrackHealth {
  const fpks = num(t.fpks);
  return {
    name,
    type: trackType(name, t),
    codec: typeof t.codec === 'string' ? t.codec : null,
    width: num(t.width),
    height: num(t.height),
    fps: num(t.fps) ?? (fpks !== null && fpks > 0 ? fpks / 1000 : null),
    sampleRate: num(t.rate),
    channels: num(t.channels),
    kbits: num(t.kbits),
    bufferMs: num(t.buffer),
    jitterMs: num(t.jitter),
  };
}

/** Parses the health JSON; throws a plain Error when it is not a JSON object. */
export function parseStreamHealth(text: string): StreamHealth {
  const root: unknown = JSON.parse(text);
  if (!isObject(root)) throw new Error('health is not a JSON object');
  // "tracks" lists the track keys; fall back to every object member that names a codec.
  const listed = Array.isArray(root.tracks) ? root.tracks.filter((k): k is string => typeof k === 'string') : [];
  const names =
    listed.length > 0 ? listed : Object.keys(root).filter((k) => isObject(root[k]) && typeof (root[k] as Json).codec === 'string');
  const tracks: TrackHealth[] = [];
  for (const name of names) {
    const t = root[name];
    if (isObject(t)) tracks.push(summariseTrack(name, t));
  }
  const issues = typeof root.issues === 'string' && root.issues.trim() !== '' ? root.issues.trim() : null;
  return { bufferMs: num(root.buffer), jitterMs: num(root.jitter), issues, tracks };
}
