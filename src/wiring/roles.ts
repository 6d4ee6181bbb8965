// What each kind of server runs (docs/deployment.md): one box and the origin take pushes,
// record and run every trigger of the registry; an edge pulls the origin's live streams over DTSC,
// plays recordings from shared storage (the origin's recordings folder mounted on it) and runs only
// the viewer-side triggers, answered from its Redis replica. Pure: no I/O.
import { EDGE_TRIGGERS, type TriggerName } from '../triggers/registry';

/** Why the edge has a PUSH_REWRITE entry at all (for people). */
export const PUSH_GUARD_REASON =
  'an edge takes no pushes: no handler, and a default that names no stream, so MistServer refuses every push without running anything';

/** The triggers an edge sets: its programs, then the push guard (PUSH_REWRITE, no program). */
export function edgeTriggerNames(): TriggerName[] {
  return [...(Object.keys(EDGE_TRIGGERS) as TriggerName[]), 'PUSH_REWRITE'];
}

/** MistServer's DTSC port (its default; the protocol edges pull the origin's streams with). */
export const DTSC_PORT = 4200;

/**
 * The source of an edge's live stream: `dtsc://<origin>:<port>` with no stream name, so MistServer
 * asks the origin for the edge's own stream name (`streams+alice`; seen on MistServer 3.10: its DTSC
 * input sends `play` with that name). `origin` is a host, `host:port`, or `[v6]:port`.
 */
export function pullSource(origin: string): string {
  const host = origin.trim();
  const hasPort = /^\[[^\]]+\]:\d+$/.test(host) || /^[^:[\]]+:\d+$/.test(host);
  const bare = host.includes(':') && !host.startsWith('[') && !hasPort ? `[${host}]` : host;
  return `dtsc://${hasPort ? bare : `${bare}:${DTSC_PORT}`}`;
}

/** Why an --origin value cannot be used, or null. Only a host name or address (and port): it goes into MistServer's config. */
export function originProblem(origin: string): string | null {
  if (origin === '') return 'no origin given: use --origin <host> or set origin= in streamctl.conf';
  if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+|[0-9a-fA-F:]+)(:\d{1,5})?$/.test(origin))
    return `invalid origin "${origin.slice(0, 64)}": expected a host name or address, optionally with :port`;
  return null;
}

/** One of MistServer's protocol (connector) entries as stored. */
export interface ProtocolEntry {
  connector?: unknown;
  interface?: unknown;
  port?: unknown;
  [k: string]: unknown;
}

/** True for an interface that only this host reaches. Empty = every interface. */
export function isLoopbackInterface(iface: unknown): boolean {
  if (typeof iface !== 'string' || iface === '') return false;
  return iface.startsWith('127.') || iface === '::1' || iface === 'localhost' || iface.startsWith('::ffff:127.');
}

/** The DTSC protocol entries in MistServer's `config.protocols`. */
export function dtscEntries(protocols: unknown): ProtocolEntry[] {
  if (!Array.isArray(protocols)) return [];
  return protocols.filter((p): p is ProtocolEntry => typeof p === 'object' && p !== null && (p as ProtocolEntry).connector === 'DTSC');
}

/** Where a DTSC entry listens, for people. */
export function describeDtsc(p: ProtocolEntry): string {
  const iface = typeof p.interface === 'string' && p.interface !== '' ? p.interface : 'every interface';
  return `${iface} port ${typeof p.port === 'number' || typeof p.port === 'string' ? String(p.port) : DTSC_PORT}`;
}
