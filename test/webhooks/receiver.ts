// A local HTTP receiver for webhook tests: records every request (headers, exact body) and answers
// what the test asks for. It verifies nothing itself: tests verify with the reference library.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** What to answer a request: a status (and headers, after delayMs), or 'hang' (never answer). */
export type Reply = { status: number; headers?: Record<string, string>; delayMs?: number } | 'hang';

export interface Receiver {
  url: string;
  received: Received[];
  /** The answer to the next requests, in order; then `otherwise`. */
  replies: Reply[];
  otherwise: Reply;
  /** Resolves once `n` requests have arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(path = '/hooks/streamctl'): Promise<Receiver> {
  const hanging: ServerResponse[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const r: Receiver = {
    url: '',
    received: [],
    replies: [],
    otherwise: { status: 204 },
    waitFor(n, timeoutMs = 20_000) {
      if (r.received.length >= n) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`receiver: ${r.received.length} of ${n} requests after ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ n, resolve: () => (clearTimeout(t), resolve()) });
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      r.received.push({ headers: req.headers, body, at: Date.now() });
      for (const w of waiters.filter((w) => r.received.length >= w.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      const reply = r.replies.shift() ?? r.otherwise;
      if (reply === 'hang') return void hanging.push(res);
      const answer = () => {
        res.writeHead(req.url === path ? reply.status : 404, reply.headers ?? {});
        res.end();
      };
      if (reply.delayMs) setTimeout(answer, reply.delayMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
  return r;
}

/** Verifies a request with the Standard Webhooks reference library; returns the parsed body. */
export function verified(secret: string, req: Received): any {
  const headers: Record<string, string> = {};
  for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) headers[name] = String(req.headers[name]);
  return new Webhook(secret).verify(req.body, headers);
}
