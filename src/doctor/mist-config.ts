import { existsSync } from 'node:fs';
import { oneLine } from '../lib/errors';
import { TRIGGERS } from '../triggers/registry';
import { mistCall } from '../mist/api';
import { READ_REQUEST } from '../wiring/desired';
import {
  desiredEntry,
  entriesOf,
  entryDifference,
  installedTriggers,
  isOurEntry,
  NOT_INSTALLED,
  planProtocols,
  planRecordingPush,
  planStreams,
  readEntry,
  REFUSING_DEFAULT,
  specFor,
  type Desired,
} from '../wiring/plan';
import { describeDtsc, dtscEntries, isLoopbackInterface, PUSH_GUARD_REASON } from '../wiring/roles';
import type { Finding } from './finding';
import { jwksCheck, mistControllerEnvironments, sessionsCheck, streamKeysCheck } from './bypass-checks';
import type { DoctorInput, DoctorScope } from './doctor';
import { canExecute } from './permissions';

const APPLY = "run 'streamctl mist apply'";

/** checkMistConfig's checks besides one per installed trigger: streams, recording push, jwks, stream keys, DTSC. */
const MIST_CONFIG_CHECKS = 5;

/** Compares MistServer's configuration with what apply sets, naming each difference. */
export function checkMistConfig(answer: Record<string, unknown>, desired: Desired): Finding[] {
  const out: Finding[] = [];
  const config = (answer.config ?? {}) as Record<string, unknown>;
  const triggers = config.triggers;
  const isOurs = (raw: unknown) => isOurEntry(raw, desired);
  const role = desired.role ?? 'single';

  for (const name of installedTriggers(role)) {
    const check = `trigger ${name}`;
    const list = entriesOf(triggers, name);
    const ours = list.filter(isOurs);
    const wanted = desiredEntry(name, desired);
    const last = ours.length > 0 ? readEntry(ours[ours.length - 1]) : null;
    if (!last) {
      out.push({ check, status: 'fail', message: `missing handler: MistServer does not run streamctl for ${name}`, fix: APPLY });
      continue;
    }
    const problems: string[] = [];
    const diff = entryDifference(last, wanted);
    if (diff) problems.push(diff);
    if (ours.length > 1) problems.push(`${ours.length} streamctl handlers`);
    if (list[list.length - 1] !== ours[ours.length - 1]) problems.push("another handler runs after streamctl's and its answer wins");
    if (last.handler !== '' && !canExecute(last.handler, null)) problems.push(`handler ${last.handler} is missing`);
    if (problems.length > 0) {
      out.push({ check, status: 'fail', message: problems.join('; '), fix: APPLY });
      continue;
    }
    const spec = specFor(name, role);
    if (spec === null) {
      // The edge's push guard: foreign PUSH_REWRITE handlers run before it, but its answer wins.
      out.push({ check, status: 'ok', message: `no handler, default "${REFUSING_DEFAULT}": ${PUSH_GUARD_REASON}` });
      continue;
    }
    const foreign = list.length - ours.length;
    if (foreign > 0 && spec.blocking) {
      out.push({
        check,
        status: 'warn',
        message: `${foreign} other handler(s) also run on ${name}; MistServer refuses if any of them refuses`,
        fix: 'remove them unless you meant them',
      });
    }
    const note =
      spec.blocking && spec.refusal === ''
        ? ` (default "${REFUSING_DEFAULT}" stands for the empty refusal: MistServer would turn an empty default into true)`
        : '';
    // USER_NEW's `!#open` filter: the fast path for open channels (entryDifference fails without it).
    const filter = wanted.streams.length > 0 ? `, streams ${wanted.streams.join(',')}` : '';
    out.push({ check, status: 'ok', message: `${last.handler}${spec.blocking ? ', blocking' : ''}${filter}${note}` });
  }

  // Trigger names apply does not install: streamctl handlers there are stale; both rewrites clash.
  const names = triggers && typeof triggers === 'object' ? Object.keys(triggers) : [];
  for (const name of names) {
    if ((installedTriggers(role) as string[]).includes(name)) continue;
    const list = entriesOf(triggers, name);
    const ours = list.filter(isOurs);
    if (name === 'RTMP_PUSH_REWRITE' && list.length > 0) {
      out.push({
        check: `trigger ${name}`,
        status: 'fail',
        message: `both rewrite triggers are set: ${NOT_INSTALLED.RTMP_PUSH_REWRITE}`,
        fix: ours.length === list.length ? APPLY : 'remove the RTMP_PUSH_REWRITE handlers in MistServer',
      });
      continue;
    }
    if (ours.length > 0) {
      const why =
        role === 'edge' && name in TRIGGERS
          ? `a one-box handler is set on this edge (${readEntry(ours[0])?.handler ?? ''}): an edge runs only the viewer-side triggers`
          : 'a streamctl handler is set on a trigger streamctl does not handle';
      out.push({ check: `trigger ${name}`, status: 'fail', message: why, fix: APPLY });
    }
    for (const raw of list.filter((e) => !isOurs(e))) {
      const seen = readEntry(raw);
      if (!seen) continue;
      if (seen.sync && seen.default === '') {
        out.push({
          check: `trigger ${name}`,
          status: 'warn',
          message: `blocking handler ${seen.handler} (not streamctl's) has an empty default: fail-open when it is slow`,
          fix: 'give it an explicit refusing default in MistServer',
        });
      }
      if (seen.handler.startsWith('/') && !existsSync(seen.handler)) {
        out.push({
          check: `trigger ${name}`,
          status: 'warn',
          message: `missing handler ${seen.handler} (not streamctl's)`,
          fix: 'remove the entry or install the program',
        });
      }
    }
  }

  const streams = planStreams(answer.streams, desired).changes;
  out.push(
    streams.length === 0
      ? {
          check: 'streams',
          status: 'ok',
          message:
            role === 'edge'
              ? `${desired.base} pulls from ${desired.pullSource ?? ''}, ${desired.vodBase} (${desired.vodSource})`
              : `${desired.base} (push://) and ${desired.vodBase} (${desired.vodSource})`,
        }
      : {
          check: 'streams',
          status: 'fail',
          message: streams.map((c) => `${c.name}: ${c.action === 'add' ? 'missing' : c.detail}`).join('; '),
          fix: APPLY,
        },
  );
  const push = planRecordingPush(answer, desired).changes;
  out.push(
    push.length === 0
      ? {
          check: 'recording push',
          status: 'ok',
          message: role === 'edge' ? 'none (the origin records)' : `${desired.base}+ → ${desired.recordingsRoot}`,
        }
      : {
          check: 'recording push',
          status: 'fail',
          message: push.map((c) => `${c.action === 'add' ? 'missing' : 'extra'}: ${c.detail}`).join('; '),
          fix: APPLY,
        },
  );
  out.push(jwksCheck(answer), streamKeysCheck(answer));
  out.push(...dtscChecks(answer, desired));
  return out;
}

/**
 * MistServer's DTSC output: the origin needs it where edges reach it; anywhere else it is a way
 * around USER_NEW (a DTSC pull is an output session: MistServer runs no USER_NEW for it). Streams
 * an edge could take pushes for are named too (the push guard refuses them anyway).
 */
function dtscChecks(answer: Record<string, unknown>, desired: Desired): Finding[] {
  const out: Finding[] = [];
  const config = (answer.config ?? {}) as Record<string, unknown>;
  const role = desired.role ?? 'single';
  const open = dtscEntries(config.protocols).filter((p) => !isLoopbackInterface(p.interface));
  const where = open.map(describeDtsc).join(', ');
  if (role === 'origin') {
    const planned = planProtocols(config.protocols, desired).changes;
    out.push(
      planned.length > 0
        ? { check: 'dtsc', status: 'fail', message: `edges cannot pull: ${planned.map((c) => c.detail).join('; ')}`, fix: APPLY }
        : {
            check: 'dtsc',
            status: 'warn',
            message: `DTSC on ${where} serves every stream without USER_NEW: only the edges may reach it`,
            fix: "firewall the DTSC port to the edges' addresses (docs/deployment.md)",
          },
    );
  } else if (open.length > 0) {
    out.push({
      check: 'dtsc',
      status: 'warn',
      message: `DTSC listens on ${where}: anyone who reaches it plays every stream without USER_NEW`,
      fix: "bind MistServer's DTSC protocol to 127.0.0.1 (or remove it), or firewall the port",
    });
  } else {
    out.push({ check: 'dtsc', status: 'ok', message: 'DTSC not reachable from other hosts' });
  }
  if (role === 'edge') {
    const streams = (answer.streams ?? {}) as Record<string, { source?: unknown }>;
    const pushable = Object.entries(streams)
      .filter(([, v]) => typeof v?.source === 'string' && v.source.startsWith('push://'))
      .map(([k]) => k);
    if (pushable.length > 0)
      out.push({
        check: 'pushes',
        status: 'warn',
        message: `stream(s) ${pushable.join(', ')} take pushes on this edge (the PUSH_REWRITE guard refuses them while it is set)`,
        fix: 'remove them: an edge takes no pushes',
      });
  }
  return out;
}

/** MistServer reachable, the live effects' API set, and its configuration compared with apply's. */
export async function mistServerFindings(input: DoctorInput, scope: DoctorScope): Promise<Finding[]> {
  const out: Finding[] = [];
  const add = (f: Finding) => out.push(f);
  const { role } = scope;
  // MistServer and its configuration.
  let answer: Record<string, unknown> | undefined;
  try {
    answer = await mistCall(input.conn, READ_REQUEST);
    const config = (answer.config ?? {}) as Record<string, unknown>;
    add({
      check: 'mistserver',
      status: 'ok',
      message: `reachable at ${input.conn.url}${typeof config.version === 'string' ? ` (${config.version})` : ''}`,
    });
  } catch (err) {
    add({
      check: 'mistserver',
      status: 'fail',
      message: oneLine(err),
      fix: input.apiConfigured
        ? 'start MistServer, or correct the URL with --api / streamctl config set mist-api <url>'
        : 'start MistServer, or name it: streamctl config set mist-api <url>',
    });
  }
  if (!input.apiConfigured) {
    add({
      check: 'live effects',
      status: 'warn',
      message: 'the mist-api setting is empty: key revocations, bans and policy changes do not reach live sessions',
      fix: 'streamctl config set mist-api <url> (mist apply sets it)',
    });
  }
  if (answer) {
    for (const f of checkMistConfig(answer, input.desired)) add(f);
  } else {
    // Say what was not checked rather than drop it: a short report must not read as a clean one.
    const skipped = installedTriggers(role).length + MIST_CONFIG_CHECKS;
    add({
      check: 'mistserver config',
      status: 'warn',
      message: `${skipped} check(s) skipped because MistServer could not be asked: ${installedTriggers(role).length} trigger entries, streams, recording push, jwks, stream keys, DTSC`,
      fix: 'run doctor again once MistServer is reachable',
    });
  }
  // NOSESS in MistServer's environment: no sessions, so no USER_NEW (bypass-checks.ts).
  add(sessionsCheck(mistControllerEnvironments(input.procRoot)));
  return out;
}
