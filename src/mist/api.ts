// MistServer's JSON API: POST a JSON object to <url>/api, get a JSON object back. Requests from
// loopback are authorised without login; otherwise MistServer answers with a challenge and we log
// in with MD5(MD5(password) + challenge). Used by the CLI only (loads node:crypto).
import { createHash } from 'node:crypto';

export interface MistApiOptions {
  /** Base URL of the API, e.g. http://127.0.0.1:4242 (a trailing /api is accepted). */
  url: string;
  username?: string;
  password?: string;
  /** Per request; MistServer stalls its API while a blocking controller trigger runs (capture 24). */
  timeoutMs?: number;
}

/** MistServer could not be reached, refused the login, or answered something that is not JSON. */
export class MistApiError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MistApiError';
  }
}

type Json = Record<string, unknown>;

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

function endpoint(url: string): string {
  const trimmed = url.replace(/\/+$/, '');
  return trimmed.endsWith('/api') ? trimmed : `${trimmed}/api`;
}

async function post(opts: MistApiOptions, body: Json): Promise<Json> {
  let res: Response;
  try {
    res = await fetch(endpoint(opts.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 8000),
    });
  } catch (err) {
    throw new MistApiError(`cannot reach MistServer at ${opts.url}: ${networkCause(err, opts.timeoutMs ?? 8000)}`);
  }
  if (!res.ok) throw new MistApiError(`MistServer at ${opts.url} answered HTTP ${res.status}`);
  try {
    return (await res.json()) as Json;
  } catch {
    throw new MistApiError(`MistServer at ${opts.url} did not answer JSON`);
  }
}

/**
 * What went wrong under fetch's generic "fetch failed" TypeError, in the system's words:
 * "connect ECONNREFUSED 127.0.0.1:4242", "getaddrinfo ENOTFOUND mist.example", "timed out after 8 s".
 */
export function networkCause(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string; errors?: { message?: string }[] } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `timed out after ${timeoutMs / 1000} s`;
  const cause = e.cause;
  // Happy eyeballs tries every address of a name and reports them together.
  const each = cause?.errors?.map((x) => x.message).filter(Boolean);
  if (each && each.length > 0) return each.join('; ');
  if (cause?.message) return cause.message.replace(/\s+/g, ' ').trim();
  if (cause?.code) return cause.code;
  return (e.message ?? String(err)).replace(/\s+/g, ' ').trim();
}

function authStatus(answer: Json): { status?: string; challenge?: string } {
  return (answer.authorize as { status?: string; challenge?: string } | undefined) ?? {};
}

/** True when MistServer ran the request's commands (it adds other keys than `authorize`). */
function executed(answer: Json): boolean {
  return Object.keys(answer).some((k) => k !== 'authorize');
}

/** Sends one API request, logging in by challenge when MistServer asks for it. */
export async function mistCall(opts: MistApiOptions, body: Json): Promise<Json> {
  let answer = await post(opts, body);
  const first = authStatus(answer);
  // NOACC from loopback: no account exists yet, but local requests are still carried out.
  if (first.status === 'NOACC' && executed(answer)) return answer;
  if (first.status !== 'CHALL' && first.status !== 'NOACC') return answer;
  if (first.status === 'NOACC') throw new MistApiError('MistServer has no API account yet; create one in its interface first');
  if (!opts.username || opts.password === undefined) {
    throw new MistApiError(`MistServer at ${opts.url} wants a login: give --user and --password (or call it from the same host)`);
  }
  answer = await post(opts, {
    ...body,
    authorize: { username: opts.username, password: md5(md5(opts.password) + (first.challenge ?? '')) },
  });
  if (authStatus(answer).status === 'CHALL') throw new MistApiError(`MistServer at ${opts.url} refused the login for "${opts.username}"`);
  return answer;
}
