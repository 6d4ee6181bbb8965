// Ways around streamctl's triggers that a stock MistServer 3.10 offers, each switched on from its
// own API or web interface. Read in MistServer's source (src/output/output.cpp,
// lib/stream.cpp, src/session.cpp):
// - native stream keys (API `streamkeys`, `streamkey_add`): an RTMP, SRT, RTSP, WebRTC or DTSC push
//   whose name is such a key publishes to the key's stream before PUSH_REWRITE or
//   RTMP_PUSH_REWRITE would run (Output::checkStreamKey);
// - JWKs in `jwks`: a signed token with the input permission (the default) publishes to its `sub`
//   stream the same way, and a viewer's token skips USER_NEW;
// - NOSESS in MistServer's environment: outputs start no session at all, so no USER_NEW (every
//   viewer admitted) and no USER_END.
// `mist apply` removes the first two (plan.ts); doctor fails on all three. The findings are here,
// apart from doctor.ts, so each way around stays one small function.
import { readdirSync, readFileSync } from 'node:fs';
import type { Finding } from './finding';
import { jwksCount, nativeKeyHint, nativeStreamKeys } from '../wiring/plan';

const APPLY = "run 'streamctl mist apply'";

/** Native stream keys publish without PUSH_REWRITE: none may exist. */
export function streamKeysCheck(answer: Record<string, unknown>): Finding {
  const keys = nativeStreamKeys(answer);
  if (keys.length === 0)
    return { check: 'stream keys', status: 'ok', message: 'no native stream keys in MistServer (every push meets PUSH_REWRITE)' };
  const list = keys.map((k) => `${nativeKeyHint(k.key)} → ${k.stream}`).join(', ');
  return {
    check: 'stream keys',
    status: 'fail',
    message: `${keys.length} native stream key(s) in MistServer (${list}): a push with one publishes without PUSH_REWRITE (no key check, guard, disabled user or audit)`,
    fix: `${APPLY} (it removes them)`,
  };
}

/** JWKs let token holders past USER_NEW and, with the input permission (MistServer's default), past PUSH_REWRITE. */
export function jwksCheck(answer: Record<string, unknown>): Finding {
  const keys = jwksCount(answer);
  return keys === 0
    ? { check: 'jwks', status: 'ok', message: 'no keys registered in MistServer (streamctl checks tokens itself)' }
    : {
        check: 'jwks',
        status: 'fail',
        message: `${keys} key(s) registered in MistServer's jwks: their token holders skip USER_NEW (no bans, caps or revocation), and a token with the input permission (the default) publishes without PUSH_REWRITE`,
        fix: `${APPLY}, then restart MistServer`,
      };
}

/** The MistController processes on this host and the environment of each (null: not readable by this user). */
export function mistControllerEnvironments(proc = '/proc'): { pid: number; env: string[] | null }[] {
  let pids: string[];
  try {
    pids = readdirSync(proc).filter((p) => /^\d+$/.test(p));
  } catch {
    return [];
  }
  const found: { pid: number; env: string[] | null }[] = [];
  for (const pid of pids) {
    try {
      if (readFileSync(`${proc}/${pid}/comm`, 'utf8').trim() !== 'MistController') continue;
    } catch {
      continue; // ended meanwhile
    }
    let env: string[] | null;
    try {
      env = readFileSync(`${proc}/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
    } catch {
      env = null;
    }
    found.push({ pid: Number(pid), env });
  }
  return found;
}

/** NOSESS in MistController's environment turns sessions off: no USER_NEW (everyone admitted), no USER_END. */
export function sessionsCheck(controllers: { pid: number; env: string[] | null }[]): Finding {
  const check = 'sessions';
  const off = controllers.filter((c) => c.env?.some((v) => v === 'NOSESS' || v.startsWith('NOSESS=')));
  if (off.length > 0) {
    return {
      check,
      status: 'fail',
      message: `NOSESS is set in the environment of MistController (pid ${off.map((c) => c.pid).join(', ')}): MistServer starts no sessions, so USER_NEW never runs (every viewer is admitted) and USER_END never comes`,
      fix: "remove NOSESS from MistServer's environment (its service unit or start script) and restart it",
    };
  }
  const unread = controllers.filter((c) => c.env === null);
  if (unread.length > 0) {
    return {
      check,
      status: 'warn',
      message: `could not read the environment of MistController (pid ${unread.map((c) => c.pid).join(', ')}): NOSESS (sessions off) not checked`,
      fix: "run doctor as root or as MistServer's user",
    };
  }
  if (controllers.length === 0)
    return {
      check,
      status: 'warn',
      message: 'no MistController process on this host: NOSESS (sessions off) not checked',
      fix: 'run doctor on the MistServer host',
    };
  return {
    check,
    status: 'ok',
    message: `sessions on: no NOSESS in MistController's environment (pid ${controllers.map((c) => c.pid).join(', ')})`,
  };
}
