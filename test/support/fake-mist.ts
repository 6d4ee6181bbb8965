// A small stand-in for MistServer's JSON API (POST /api, challenge login, the config calls
// streamctl makes), on 127.0.0.1 with a random port. It keeps the configuration the way
// MistServer does — `{"config":{"triggers":...}}` replaces the whole triggers object — and records
// every request so tests can assert what streamctl sent.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { baseEnv, BIN, spawnCollect, type RunResult } from './helpers';

type Json = Record<string, any>;

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const CHALLENGE = '5f4dcc3b5aa765d61d8327deb882cf99';

/** A connection as MistServer's `clients` call lists it (a push's session id starts with "I"). */
export interface FakeSession {
  sessid: string;
  stream: string;
  host: string;
  protocol: string;
  /** Seconds connected at the time asked; it grows while the encoder is connected. */
  conntime: number;
  /** False: the encoder is gone but MistServer still lists its session (frozen, as for ~20 s on 3.10). */
  connected?: boolean;
}

export interface FakeMist {
  url: string;
  /** Every request body received, in order (login retries included). */
  requests: Json[];
  /** The stored configuration, as MistServer would hold it. */
  state: {
    triggers: Json;
    streams: Json;
    autoPush: Json;
    jwks: unknown[];
    activeStreams: string[];
    streamKeys: Record<string, string>;
    sessions: FakeSession[];
    /** Unix seconds: `clients` asked about a later second lists nothing (a loaded MistServer's statistics lag). */
    statsUpTo?: number;
  };
  /** When set, requests need this login (as from a remote host). */
  account?: { username: string; password: string };
  /** Requests that carried one of these keys (ignoring reads). */
  calls(key: string): Json[];
  close(): Promise<void>;
}

/** Starts a fake MistServer; closed after the test file. */
export async function startFakeMist(initial: Partial<FakeMist['state']> = {}): Promise<FakeMist> {
  const fake: FakeMist = {
    url: '',
    requests: [],
    state: {
      triggers: {},
      streams: {},
      autoPush: {},
      jwks: [],
      activeStreams: [],
      streamKeys: {},
      sessions: [],
      ...structuredClone(initial),
    },
    calls: (key) => fake.requests.filter((r) => key in r),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const answer = (value: Json) => {
        // A new connection per request, as when every CLI run was its own process: in-process CLI
        // runs share fetch's connection pool, and one test's idle socket should not meet the next.
        res.writeHead(200, { 'content-type': 'text/javascript', connection: 'close' });
        res.end(JSON.stringify(value) + '\n\n');
      };
      if (req.url !== '/api' || req.method !== 'POST' || req.headers['content-type'] !== 'application/json') {
        res.writeHead(404);
        return res.end();
      }
      const request = JSON.parse(body) as Json;
      fake.requests.push(request);
      if (fake.account) {
        const auth = request.authorize as Json | undefined;
        const good = md5(md5(fake.account.password) + CHALLENGE);
        if (!auth || auth.username !== fake.account.username || auth.password !== good) {
          return answer({ authorize: { status: 'CHALL', challenge: CHALLENGE } });
        }
      }
      answer(handle(fake, request));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  afterAll(() => fake.close());
  return fake;
}

function handle(fake: FakeMist, request: Json): Json {
  const s = fake.state;
  const out: Json = { authorize: { status: 'OK', local: true }, LTS: 1 };
  if (request.config && typeof request.config === 'object' && 'triggers' in request.config) {
    s.triggers = structuredClone(request.config.triggers);
  }
  if (request.addstream) for (const [name, cfg] of Object.entries(request.addstream as Json)) s.streams[name] = structuredClone(cfg);
  if (request.push_auto_add) {
    const p = request.push_auto_add as Json;
    // Keyed by the whole push as MistServer does (md5 of its JSON), inhibit included.
    const push = { stream: p.stream, target: p.target, ...(p.inhibit !== undefined ? { inhibit: p.inhibit } : {}) };
    s.autoPush[md5(JSON.stringify(push))] = push;
  }
  if (request.push_auto_remove !== undefined) {
    const r = request.push_auto_remove;
    if (typeof r === 'string') delete s.autoPush[r];
    // [stream, target] matches only a push with nothing more (MistServer compares whole objects).
    else
      for (const [k, p] of Object.entries(s.autoPush))
        if (p.stream === r[0] && p.target === r[1] && p.inhibit === undefined) delete s.autoPush[k];
  }
  if (request.push_auto_list || request.push_auto_add || request.push_auto_remove) {
    out.auto_push = s.autoPush;
    out.push_auto_list = Object.values(s.autoPush).map((p: Json) => [p.stream, p.target]);
  }
  if ('jwks' in request) {
    if (Array.isArray(request.jwks)) s.jwks = structuredClone(request.jwks);
    out.jwks = s.jwks;
  }
  // With fields and longform (edge watch asks for tags): one object per stream, as MistServer answers.
  if (request.active_streams) {
    const a = request.active_streams;
    out.active_streams =
      typeof a === 'object' && a.longform
        ? s.activeStreams.length
          ? Object.fromEntries(s.activeStreams.map((n) => [n, { tags: [] }]))
          : null
        : s.activeStreams;
  }
  // As 3.10 answers them (controller_api.cpp): an object for `streamkeys` replaces every key; `clients`
  // lists the requested fields in its own order; `stop_sessid` ends those sessions.
  if ('streamkeys' in request) {
    if (request.streamkeys && typeof request.streamkeys === 'object') s.streamKeys = structuredClone(request.streamkeys);
    out.streamkeys = s.streamKeys;
  }
  if (request.clients) {
    const order = ['host', 'stream', 'protocol', 'conntime', 'down', 'sessid'];
    // Times are taken relative to the latest one asked (tests run on their own clocks).
    const asked: Json[] = Array.isArray(request.clients) ? request.clients : [request.clients];
    const latest = Math.max(...asked.map((q) => (typeof q.time === 'number' ? q.time : 0)));
    const one = (q: Json) => {
      const wanted = Array.isArray(q.fields) && q.fields.length ? order.filter((f) => q.fields.includes(f)) : order;
      const streams: string[] = q.streams ?? [];
      const ago = typeof q.time === 'number' ? latest - q.time : 0;
      const lagging = s.statsUpTo !== undefined && typeof q.time === 'number' && q.time > s.statsUpTo;
      const rows = (lagging ? [] : s.sessions)
        .filter((c) => streams.length === 0 || streams.includes(c.stream))
        .map((c) => ({ ...c, conntime: c.connected === false ? c.conntime : c.conntime - ago }))
        .filter((c) => c.conntime >= 0);
      const value = (c: FakeSession, f: string) => (f === 'down' ? c.conntime * 12_000 : c[f as keyof FakeSession]);
      return {
        fields: wanted,
        time: Math.floor(Date.now() / 1000),
        data: rows.length ? rows.map((c) => wanted.map((f) => value(c, f))) : null,
      };
    };
    out.clients = Array.isArray(request.clients) ? request.clients.map(one) : one(request.clients);
  }
  if (request.stop_sessid !== undefined) {
    const ids: string[] = Array.isArray(request.stop_sessid) ? request.stop_sessid : [request.stop_sessid];
    s.sessions = s.sessions.filter((c) => !ids.includes(c.sessid));
  }
  if ('config' in request) out.config = { triggers: s.triggers, version: 'fake 1.0', serverid: '' };
  if (!request.minimal) out.streams = s.streams;
  return out;
}

/** Runs bin/streamctl without blocking the event loop (the fake server lives in this process). */
export function cliAsync(
  dbPath: string,
  args: string[],
  extraEnv: Record<string, string> = {},
  program = join(BIN, 'streamctl'),
): Promise<RunResult> {
  return spawnCollect(program, args, baseEnv({ STREAMCTL_DB: dbPath, ...extraEnv }));
}
