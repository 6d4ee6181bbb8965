// What `streamctl mist apply` wants MistServer to hold, and how far MistServer's configuration is
// from it. Pure: takes MistServer's answers and our settings, returns the changes to make and the
// request bodies that make them. Everything trigger-related is driven by the registry.
import type { ServerRole } from '../config';
import { EDGE_TRIGGERS, TRIGGERS, type TriggerName, type TriggerSpec } from '../triggers/registry';
import { describeDtsc, dtscEntries, DTSC_PORT, isLoopbackInterface, PUSH_GUARD_REASON, edgeTriggerNames } from './roles';
import { RECORDING_INHIBIT, USER_NEW_STREAMS } from '../mist/stream-tags';

type Json = Record<string, unknown>;

/**
 * The `default` configured for a blocking trigger whose refusal is the empty answer. MistServer
 * turns an empty default into "true" (which admits, or names a stream "true"), so the empty
 * refusal needs a non-empty stand-in that still refuses wherever MistServer uses it:
 * - a stream name (PUSH_REWRITE, DEFAULT_STREAM): MistServer cuts names at "?", leaving no name,
 *   and no configured stream can contain "?";
 * - a push target (PUSH_OUT_START): targets are matched on the text before the last "?", i.e.
 *   nothing, so no output takes it and the push is not started;
 * - a source (STREAM_SOURCE): no input accepts it, so the stream does not load;
 * - a boolean: it does not start with 1/yes/true/cont, so it is false.
 */
export const REFUSING_DEFAULT = '?streamctl-refused';

/** Triggers in the registry that apply never installs (and removes when they point at us), with why. */
export const NOT_INSTALLED: Partial<Record<TriggerName, string>> = {
  RTMP_PUSH_REWRITE:
    'PUSH_REWRITE covers every protocol; with both installed, PUSH_REWRITE sees the rewritten name instead of the key and RTMP pushes are refused',
};

/** The VoD stream whose wildcard children (vod+<recording id>) play recordings. */

/** MistServer keeps handler paths and defaults in 128-byte fields (127 usable). */
export const MIST_FIELD_MAX = 127;

/** One trigger handler as MistServer stores it (object form). */
export interface TriggerEntry {
  handler: string;
  sync: boolean;
  /** Empty: every stream. */
  streams: string[];
  /** Absent on asynchronous triggers: there MistServer "answers" with the default, so it must stay true. */
  default?: string;
}

/** One planned change, for people. */
export interface Change {
  area: 'trigger' | 'stream' | 'recording push' | 'jwks' | 'stream keys' | 'protocol';
  action: 'add' | 'update' | 'remove';
  name: string;
  detail: string;
}

/** What apply wants, from settings and the install location. */
export interface Desired {
  /** What this server is (absent: one box): one box and the origin get today's setup, an edge its own (roles.ts). */
  role?: ServerRole;
  /** An edge's pull source for its live stream (`dtsc://<origin>:4200`). */
  pullSource?: string;
  base: string;
  /** The VoD stream (`vod-base` setting) whose wildcard children play recordings. */
  vodBase: string;
  vodSource: string;
  recordingsRoot: string;
  /** Absolute handler path per trigger program. */
  handlerFor(spec: TriggerSpec): string;
  /** True for a handler path that runs one of our programs (wherever it was installed). */
  isOurHandler(handler: string): boolean;
}

/** The plan: changes, plus the requests that make them (sent in order). */
export interface Plan {
  changes: Change[];
  requests: Json[];
  /** Things apply leaves alone but the operator should know. */
  notes: string[];
}

/** The triggers apply installs on a server of this role (one box and origin: the registry's). */
export function installedTriggers(role: ServerRole = 'single'): TriggerName[] {
  if (role === 'edge') return edgeTriggerNames();
  return (Object.keys(TRIGGERS) as TriggerName[]).filter((name) => NOT_INSTALLED[name] === undefined);
}

/**
 * The program spec behind a trigger on a server of this role; null for the edge's push guard,
 * which runs no program (MistServer answers its default without spawning anything).
 */
export function specFor(name: TriggerName, role: ServerRole): TriggerSpec | null {
  if (role !== 'edge') return TRIGGERS[name];
  return EDGE_TRIGGERS[name as keyof typeof EDGE_TRIGGERS] ?? null;
}

/** The `default` apply configures for a trigger: its refusal, never empty; none for asynchronous ones. */
export function mistDefaultFor(spec: TriggerSpec): string | undefined {
  if (!spec.blocking) return undefined;
  return spec.refusal === '' ? REFUSING_DEFAULT : spec.refusal;
}

/**
 * Triggers that run only for some streams. USER_NEW skips live streams tagged `open` (the fast
 * path: their viewers need no check, docs/access-control.md); untagged streams, VoD included, are
 * always checked, so a missing tag fails closed.
 */
export const STREAM_FILTERS: Partial<Record<TriggerName, readonly string[]>> = {
  USER_NEW: USER_NEW_STREAMS,
};

/**
 * The edge's PUSH_REWRITE: no handler, so MistServer answers the default at once, and the default
 * names no stream (see REFUSING_DEFAULT): every push to an edge is refused before it is read.
 */
export function pushGuardEntry(): TriggerEntry {
  return { handler: '', sync: true, streams: [], default: REFUSING_DEFAULT };
}

/** True for the push guard as read back (no handler, our refusing default). */
export function isPushGuard(seen: SeenEntry | null): boolean {
  return seen !== null && seen.handler === '' && seen.default === REFUSING_DEFAULT;
}

/** The entry apply writes for one trigger. */
export function desiredEntry(name: TriggerName, desired: Desired): TriggerEntry {
  const spec = specFor(name, desired.role ?? 'single');
  if (spec === null) return pushGuardEntry();
  const entry: TriggerEntry = { handler: desired.handlerFor(spec), sync: spec.blocking, streams: [...(STREAM_FILTERS[name] ?? [])] };
  const dflt = mistDefaultFor(spec);
  if (dflt !== undefined) entry.default = dflt;
  return entry;
}

/** A trigger entry as read back, in either of MistServer's forms (object, or old [handler, sync, streams]). */
export interface SeenEntry {
  handler: string;
  sync: boolean;
  streams: string[];
  /** '' when absent: MistServer then uses "true". */
  default: string;
  params: string;
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const asString = (v: unknown): string => (typeof v === 'string' ? v : '');
const asStrings = (v: unknown): string[] => (Array.isArray(v) ? v.map(asString) : []);

/** Reads one stored trigger entry; null when it has neither form. */
export function readEntry(raw: unknown): SeenEntry | null {
  if (Array.isArray(raw)) {
    return { handler: asString(raw[0]), sync: raw[1] === true || raw[1] === 1, streams: asStrings(raw[2]), default: '', params: '' };
  }
  if (isObject(raw)) {
    return {
      handler: asString(raw.handler),
      sync: raw.sync === true || raw.sync === 1,
      streams: asStrings(raw.streams),
      default: asString(raw.default),
      params: asString(raw.params),
    };
  }
  return null;
}

/** The entries stored for one trigger name. */
export function entriesOf(triggers: unknown, name: string): unknown[] {
  if (!isObject(triggers)) return [];
  const list = triggers[name];
  return Array.isArray(list) ? list : [];
}

/** True for an entry apply put there: a handler running one of our programs, or the edge's push guard. */
export function isOurEntry(raw: unknown, desired: Desired): boolean {
  const seen = readEntry(raw);
  return seen !== null && (desired.isOurHandler(seen.handler) || isPushGuard(seen));
}

/** What differs between a stored entry of ours and the wanted one, in words ('' when equal). */
export function entryDifference(seen: SeenEntry, wanted: TriggerEntry): string {
  const diffs: string[] = [];
  if (seen.handler !== wanted.handler) diffs.push(`handler ${seen.handler} → ${wanted.handler}`);
  if (seen.sync !== wanted.sync) diffs.push(wanted.sync ? 'not blocking → blocking' : 'blocking → not blocking');
  if (seen.streams.join('\n') !== wanted.streams.join('\n')) {
    const shown = (l: string[]) => (l.length === 0 ? 'every stream' : `only for ${l.join(',')}`);
    diffs.push(`${shown(seen.streams)} → ${shown(wanted.streams)}`);
  }
  const wantedDefault = wanted.default ?? '';
  if (seen.default !== wantedDefault) {
    const shown = (d: string) => (d === '' ? 'empty (MistServer uses true: fail-open)' : `"${d}"`);
    diffs.push(`default ${shown(seen.default)} → ${wanted.default === undefined ? 'none' : `"${wantedDefault}"`}`);
  }
  if (seen.params !== '') diffs.push('params dropped');
  return diffs.join('; ');
}

function describeEntry(e: TriggerEntry): string {
  if (e.handler === '') return `no handler, default "${e.default ?? ''}": ${PUSH_GUARD_REASON}`;
  return `${e.handler} (${e.sync ? 'blocking' : 'async'}${e.default !== undefined ? `, default "${e.default}"` : ''})`;
}

/** Plans the whole `triggers` object: ours set from the registry, every foreign entry kept as it was. */
export function planTriggers(current: unknown, desired: Desired): { triggers: Json; changes: Change[]; unchanged: number } {
  const triggers: Json = isObject(current) ? { ...current } : {};
  const changes: Change[] = [];
  let unchanged = 0;
  const isOurs = (raw: unknown) => isOurEntry(raw, desired);
  const role = desired.role ?? 'single';

  for (const name of installedTriggers(role)) {
    const list = entriesOf(current, name);
    const ours = list.filter(isOurs);
    const foreign = list.filter((e) => !isOurs(e));
    const wanted = desiredEntry(name, desired);
    const only = ours.length === 1 ? readEntry(ours[0]) : null;
    // Ours goes last: for a blocking trigger MistServer uses the last handler's answer.
    if (only && entryDifference(only, wanted) === '' && list[list.length - 1] === ours[0]) {
      unchanged++;
      continue;
    }
    triggers[name] = [...foreign, wanted];
    if (ours.length === 0) changes.push({ area: 'trigger', action: 'add', name, detail: describeEntry(wanted) });
    else {
      const diff = only ? entryDifference(only, wanted) : `${ours.length} handlers of ours → 1`;
      changes.push({ area: 'trigger', action: 'update', name, detail: diff || 'moved after the other handlers' });
    }
  }

  // Ours on triggers we do not install (RTMP_PUSH_REWRITE, the one-box triggers on an edge, or ones the
  // registry no longer has): removed.
  const installed = new Set<string>(installedTriggers(role));
  for (const name of Object.keys(triggers)) {
    if (installed.has(name)) continue;
    const list = entriesOf(current, name);
    const ours = list.filter(isOurs);
    if (ours.length === 0) continue;
    const foreign = list.filter((e) => !isOurs(e));
    if (foreign.length > 0) triggers[name] = foreign;
    else delete triggers[name];
    const why =
      NOT_INSTALLED[name as TriggerName] ??
      (role === 'edge' && name in TRIGGERS ? 'an edge runs only the viewer-side triggers' : 'not a trigger this version handles');
    changes.push({ area: 'trigger', action: 'remove', name, detail: `${readEntry(ours[0])?.handler ?? ''}: ${why}` });
  }
  return { triggers, changes, unchanged };
}

// Fields MistServer adds to a stream's config at run time; never written back.
const RUNTIME_STREAM_FIELDS = new Set(['online', 'error', 'meta', 'lastms', 'last_active']);

/** Plans the live and VoD streams: created when missing, source corrected, other options kept. */
export function planStreams(current: unknown, desired: Desired): { addstream: Json; changes: Change[] } {
  const streams = isObject(current) ? current : {};
  const addstream: Json = {};
  const changes: Change[] = [];
  // An edge pulls live `<base>+<user>` from the origin by its own name. Recordings are not pulled
  // (MistServer 3.10's edge drops a VoD stream pulled over DTSC at once): the VoD stream has the
  // placeholder as on one box, and the edge's STREAM_SOURCE answers the file on shared storage.
  const edge = desired.role === 'edge';
  for (const [name, source] of [
    [desired.base, edge ? (desired.pullSource ?? '') : 'push://'],
    [desired.vodBase, desired.vodSource],
  ] as const) {
    const cur = streams[name];
    if (!isObject(cur)) {
      addstream[name] = { name, source };
      changes.push({ area: 'stream', action: 'add', name, detail: `source ${source}` });
    } else if (cur.source !== source) {
      const kept = Object.fromEntries(Object.entries(cur).filter(([k]) => !RUNTIME_STREAM_FIELDS.has(k)));
      addstream[name] = { ...kept, name, source };
      changes.push({ area: 'stream', action: 'update', name, detail: `source ${asString(cur.source) || '(none)'} → ${source}` });
    }
  }
  return { addstream, changes };
}

/** One automatic push as listed by MistServer; key is its id in the newer object form. */
export interface AutoPush {
  key?: string;
  stream: string;
  target: string;
  /** MistServer's `inhibit`: streams matching it do not get the push ('' when none). */
  inhibit: string;
}

/** Reads the automatic pushes from a push_auto_list answer (newer `auto_push` object, else the list). */
export function readAutoPushes(answer: Json): AutoPush[] {
  if (isObject(answer.auto_push)) {
    return Object.entries(answer.auto_push)
      .filter((e): e is [string, Json] => isObject(e[1]))
      .map(([key, p]) => ({ key, stream: asString(p.stream), target: asString(p.target), inhibit: asString(p.inhibit) }));
  }
  const list = Array.isArray(answer.push_auto_list) ? answer.push_auto_list : Array.isArray(answer.autopushes) ? answer.autopushes : [];
  return list.filter(Array.isArray).map((p: unknown[]) => ({ stream: asString(p[0]), target: asString(p[1]), inhibit: '' }));
}

/** The recording target: MistServer fills in the variables; PUSH_OUT_START then picks the real path. */
export function recordingTarget(recordingsRoot: string): string {
  return `${recordingsRoot}/$wildcard/$datetime.mkv`;
}

/**
 * Plans the recording push for `<base>+`, inhibited for streams tagged `norecord` (channels that do
 * not record: without it MistServer retries the push every 3 s while they are live, each retry a
 * PUSH_OUT_START run). File targets for `<base>+` are streamctl's (a second one would record every
 * broadcast twice); pushes to other places (restreams) are left alone.
 */
export function planRecordingPush(answer: Json, desired: Desired): { requests: Json[]; changes: Change[] } {
  const stream = `${desired.base}+`;
  // An edge records nothing: the origin has every broadcast already.
  const target = desired.role === 'edge' ? null : recordingTarget(desired.recordingsRoot);
  const ours = readAutoPushes(answer).filter((p) => p.stream === stream && p.target.startsWith('/'));
  const requests: Json[] = [];
  const changes: Change[] = [];
  const wanted = (p: AutoPush) => p.target === target && p.inhibit === RECORDING_INHIBIT;
  if (target !== null && !ours.some(wanted)) {
    requests.push({ push_auto_add: { stream, target, inhibit: RECORDING_INHIBIT } });
    changes.push({
      area: 'recording push',
      action: 'add',
      name: stream,
      detail: `${target} (not for streams tagged ${RECORDING_INHIBIT})`,
    });
  }
  let keptOne = false;
  for (const p of ours) {
    if (wanted(p) && !keptOne) {
      keptOne = true;
      continue;
    }
    // One removal per request: MistServer misreads a list of [stream, target] pairs.
    requests.push({ push_auto_remove: p.key ?? [p.stream, p.target] });
    changes.push({ area: 'recording push', action: 'remove', name: stream, detail: p.target });
  }
  return { requests, changes };
}

/**
 * MistServer's DTSC output (the protocol an edge pulls with) on the origin: it must listen where the
 * edges reach it. MistServer's stock configuration has it on every interface, port 4200; a
 * configuration whose DTSC is missing or on loopback only gets one on every interface. A DTSC pull
 * is an output session, never a viewer: USER_NEW does not run for it, so anyone who reaches the port
 * plays every stream: a note says so on the origin (firewall it to the edges) and on any other role.
 */
export function planProtocols(protocols: unknown, desired: Desired): { requests: Json[]; changes: Change[]; notes: string[] } {
  const dtsc = dtscEntries(protocols);
  const open = dtsc.filter((p) => !isLoopbackInterface(p.interface));
  const requests: Json[] = [];
  const changes: Change[] = [];
  const notes: string[] = [];
  if (desired.role === 'origin') {
    if (dtsc.length === 0) {
      requests.push({ addprotocol: { connector: 'DTSC', port: DTSC_PORT } });
      changes.push({ area: 'protocol', action: 'add', name: 'DTSC', detail: `every interface port ${DTSC_PORT} (edges pull from it)` });
    } else if (open.length === 0) {
      const { online: _online, interface: _iface, ...kept } = dtsc[0]!;
      requests.push({ updateprotocol: [withoutRuntime(dtsc[0]!), kept] });
      changes.push({
        area: 'protocol',
        action: 'update',
        name: 'DTSC',
        detail: `${describeDtsc(dtsc[0]!)} → every interface (edges cannot reach loopback)`,
      });
    }
    notes.push(
      `DTSC (${open.length > 0 ? open.map(describeDtsc).join(', ') : `every interface port ${DTSC_PORT}`}) serves every stream without USER_NEW: let only the edges reach it (firewall)`,
    );
  } else if (open.length > 0) {
    notes.push(
      `DTSC listens on ${open.map(describeDtsc).join(', ')}: anyone who reaches it plays every stream without USER_NEW; bind it to 127.0.0.1 or firewall it`,
    );
  }
  return { requests, changes, notes };
}

/** A protocol entry without the fields MistServer adds at run time (updateprotocol matches on the rest). */
function withoutRuntime(p: Record<string, unknown>): Record<string, unknown> {
  const { online: _online, ...rest } = p;
  return rest;
}

/** Number of keys registered in MistServer's jwks (answer of {"jwks": true}). */
export function jwksCount(answer: Json): number {
  return Array.isArray(answer.jwks) ? answer.jwks.length : 0;
}

/** MistServer's native stream keys from an answer to {"streamkeys": true}: key → stream. */
export function nativeStreamKeys(answer: Json): { key: string; stream: string }[] {
  const keys = answer.streamkeys;
  if (!isObject(keys)) return [];
  return Object.entries(keys).map(([key, stream]) => ({ key, stream: asString(stream) }));
}

/** How a native key is named in reports: its first characters only (it is a publishing secret). */
export function nativeKeyHint(key: string): string {
  return key.length > 8 ? `${key.slice(0, 4)}…` : '…';
}

/** The whole plan from one read answer (READ_REQUEST: config, automatic pushes, jwks, stream keys). */
export function planSetup(answer: Json, desired: Desired): Plan {
  const config = isObject(answer.config) ? answer.config : {};
  const t = planTriggers(config.triggers, desired);
  const s = planStreams(answer.streams, desired);
  const r = planRecordingPush(answer, desired);
  const p = planProtocols(config.protocols, desired);
  const keys = jwksCount(answer);
  const changes = [...t.changes, ...s.changes, ...r.changes, ...p.changes];
  const main: Json = {};
  if (t.changes.length > 0) main.config = { triggers: t.triggers };
  if (s.changes.length > 0) main.addstream = s.addstream;
  if (keys > 0) {
    // MistServer would admit token holders itself and skip USER_NEW (bans, caps, revocation).
    main.jwks = [];
    changes.push({
      area: 'jwks',
      action: 'remove',
      name: 'jwks',
      detail: `${keys} key(s); restart MistServer afterwards, it keeps using a loaded key`,
    });
  }
  // A push named by a native stream key publishes before PUSH_REWRITE runs (bypass-checks.ts).
  // An object for `streamkeys` replaces them all: {} leaves none.
  const native = nativeStreamKeys(answer);
  if (native.length > 0) {
    main.streamkeys = {};
    for (const k of native)
      changes.push({
        area: 'stream keys',
        action: 'remove',
        name: k.stream,
        detail: `native key ${nativeKeyHint(k.key)}: it published to ${k.stream} without PUSH_REWRITE`,
      });
  }
  const requests: Json[] = [];
  if (Object.keys(main).length > 0) requests.push(main);
  requests.push(...r.requests, ...p.requests);
  if (requests.length > 0) requests.push({ save: true });

  const notes: string[] = [];
  const rtmp = entriesOf(t.triggers, 'RTMP_PUSH_REWRITE');
  if (rtmp.length > 0)
    notes.push(
      `RTMP_PUSH_REWRITE has ${rtmp.length} handler(s) that are not streamctl's; with PUSH_REWRITE also set, RTMP pushes are refused: remove them`,
    );
  for (const name of installedTriggers(desired.role)) {
    if (!(specFor(name, desired.role ?? 'single')?.blocking ?? true)) continue;
    const foreign = entriesOf(t.triggers, name).length - 1;
    if (foreign > 0) notes.push(`${name} also runs ${foreign} handler(s) that are not streamctl's (kept, before ours)`);
  }
  notes.push(...p.notes);
  return { changes, requests, notes };
}
