// A stream's publishing (input) sessions, and stopping them, over MistServer's HTTP API from the same
// host (loopback needs no login). For PUSH_REWRITE's second-push policy, so it stays small: node:http
// only, loaded when a push arrives for a channel that may be live; no login (node:crypto), no fetch
// (undici's start-up). MistServer lists a push as a session whose id starts with "I" (its protocol
// reads "INPUT:<connector>" once the push runs, "" in its first second); each push has its own
// (its token is the output's pid), so stopping one session id cuts that encoder alone (measured on
// 3.10: docs/ingest.md).
import type { IncomingMessage } from 'node:http';

/** One encoder connected to a stream, as MistServer's `clients` call lists it. */
export interface InputSession {
  sessionId: string;
  host: string;
  /** "INPUT:RTMP", "INPUT:TSSRT", ... ("" in the push's first second) */
  protocol: string;
  /** Seconds since the encoder connected. */
  connectedSeconds: number;
}

type Json = Record<string, unknown>;

/** MistServer could not be asked (down, not on loopback, wants a login, or answered nonsense). */
export class MistUnreachable extends Error {}

function post(apiUrl: string, body: Json, timeoutMs: number): Promise<Json> {
  // Loaded here, not at the top: only a push for a channel that may be live pays for it.
  const http = require('node:http') as typeof import('node:http');
  const base = apiUrl.replace(/\/+$/, '');
  const url = base.endsWith('/api') ? base : `${base}/api`;
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const fail = (why: string) => reject(new MistUnreachable(`MistServer API at ${apiUrl}: ${why}`));
    let req: ReturnType<typeof http.request>;
    try {
      req = http.request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), connection: 'close' },
        timeout: timeoutMs,
      });
    } catch (err) {
      return fail((err as Error).message);
    }
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on('error', (err) => fail(err.message));
    req.on('response', (res: IncomingMessage) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (data += d));
      res.on('error', (err) => fail(err.message));
      res.on('end', () => {
        if (res.statusCode !== 200) return fail(`HTTP ${res.statusCode}`);
        let answer: Json;
        try {
          answer = JSON.parse(data) as Json;
        } catch {
          return fail('not JSON');
        }
        const status = (answer.authorize as { status?: string } | undefined)?.status;
        if (status === 'CHALL' || status === 'NOACC') return fail('it wants a login (only loopback is authorised without one)');
        resolve(answer);
      });
    });
    req.end(text);
  });
}

/**
 * The encoders MistServer lists on `stream` now: sessions seen in the last 2 s (MistServer keeps a
 * per-second log; with no time its `clients` call answers about ten minutes ago). MistServer keeps
 * listing a push's session for some 20 s after its encoder left (measured on 3.10); PUSH_REWRITE
 * asks only while no STREAM_BUFFER end came after the last accept, which arrives within about a
 * second of the encoder leaving, so that window is short. (Comparing two looks a few seconds apart
 * to skip such sessions was tried: on a machine at a load of 40 live encoders read as gone.)
 * `lookbackSeconds`: how far back to look; a loaded MistServer's statistics can lag behind the clock.
 */
export async function listInputSessions(
  apiUrl: string,
  stream: string,
  nowMs: number,
  timeoutMs: number,
  lookbackSeconds = 2,
): Promise<InputSession[]> {
  const answer = await post(
    apiUrl,
    {
      clients: {
        time: Math.floor(nowMs / 1000) - lookbackSeconds,
        streams: [stream],
        fields: ['host', 'stream', 'protocol', 'conntime', 'down', 'sessid'],
      },
    },
    timeoutMs,
  );
  return inputRows(apiUrl, answer.clients, stream).map(({ bytes: _bytes, ...session }) => session);
}

/** The input sessions of `stream` in one `clients` answer, with the bytes they sent. */
function inputRows(apiUrl: string, answer: unknown, stream: string): (InputSession & { bytes: number })[] {
  const clients = answer as { fields?: unknown; data?: unknown } | undefined;
  if (!clients || !Array.isArray(clients.fields)) throw new MistUnreachable(`MistServer API at ${apiUrl}: no clients list in its answer`);
  const fields = clients.fields as string[];
  const at = (row: unknown[], name: string) => row[fields.indexOf(name)];
  const rows = Array.isArray(clients.data) ? (clients.data.filter(Array.isArray) as unknown[][]) : [];
  return rows
    .filter((r) => at(r, 'stream') === stream && String(at(r, 'sessid')).startsWith('I'))
    .map((r) => ({
      sessionId: String(at(r, 'sessid')),
      host: String(at(r, 'host')),
      protocol: String(at(r, 'protocol')),
      connectedSeconds: Number(at(r, 'conntime')) || 0,
      bytes: Number(at(r, 'down')) || 0,
    }));
}

/** Asks MistServer to stop these sessions (each cuts its encoder's connection). */
export async function stopSessions(apiUrl: string, sessionIds: string[], timeoutMs: number): Promise<void> {
  if (sessionIds.length === 0) return;
  await post(apiUrl, { stop_sessid: sessionIds, minimal: true }, timeoutMs);
}
