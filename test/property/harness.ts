// Property-based checks of every trigger: hostile payloads built with
// fast-check, run in process (parse → decide → render, as src/runtime/run-trigger.ts does, on a
// real SQLite database) and a sample through the built programs. Used by the default suite with
// few runs and by `npm run fuzz` (STREAMCTL_FUZZ=1) with thousands, which prints the counts.
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createUserWithKey } from '../../src/ingest/keys';
import { PayloadError } from '../../src/lib/errors';
import { render, type Answer } from '../../src/triggers/answer';
import { TRIGGERS, type TriggerName } from '../../src/triggers/registry';
import type { Trigger, TriggerContext } from '../../src/triggers/types';
import { updateChannel } from '../../src/store/channels';
import { migrate } from '../../src/store/migrate';
import { putSetting } from '../../src/store/settings';
import { fixture } from '../support/helpers';

/** STREAMCTL_FUZZ=1: the long campaign (`npm run fuzz`). */
export const FUZZ = Boolean(process.env.STREAMCTL_FUZZ);
/** Runs per trigger: in process, and through the built programs. */
export const RUNS = FUZZ ? { inProcess: 3000, programs: 60 } : { inProcess: 60, programs: 1 };

export const NAMES = Object.keys(TRIGGERS) as TriggerName[];

export { loadTrigger } from '../support/trigger';

/** A database with a public channel (alice, recorded), a capped one (bob) and a private one (carol). */
export function worldDb(dir: string): { db: Database.Database; key: string; root: string } {
  const db = new Database(join(dir, 'world.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  migrate(db);
  const now = Date.now();
  const alice = createUserWithKey(db, { name: 'alice', displayName: null, externalId: null }, now);
  const bob = createUserWithKey(db, { name: 'bob', displayName: null, externalId: null }, now);
  const carol = createUserWithKey(db, { name: 'carol', displayName: null, externalId: null }, now);
  const root = join(dir, 'recordings');
  mkdirSync(root);
  putSetting(db, 'recordings-root', root);
  updateChannel(db, alice.user.id, { record: true }, now);
  updateChannel(db, bob.user.id, { viewerCap: 1 }, now);
  updateChannel(db, carol.user.id, { access: 'private' }, now);
  return { db, key: alice.key, root };
}

/** The captured payload of each trigger (capture 01), with alice's real key where the capture had one. */
export function basePayloads(key: string): Record<TriggerName, string[]> {
  const c = (name: string) => fixture(`01-basic-push-alice/${name}-1`).replaceAll('KEY_ALICE', key);
  const userNew = c('USER_NEW');
  return {
    PUSH_REWRITE: [`rtmp://127.0.0.1/live/${key}\n127.0.0.1\n${key}`],
    RTMP_PUSH_REWRITE: [c('RTMP_PUSH_REWRITE')],
    // A private channel without a token: a mutation must never turn that into an admission.
    USER_NEW: [userNew, userNew.replace('streams+alice', 'streams+carol')],
    PUSH_OUT_START: [c('PUSH_OUT_START'), 'streams+alice\nrtmp://restream.example/live/x'],
    RECORDING_END: [c('RECORDING_END')],
    STREAM_SOURCE: [c('STREAM_SOURCE')],
    DEFAULT_STREAM: [c('DEFAULT_STREAM')],
    STREAM_BUFFER: [c('STREAM_BUFFER')],
    STREAM_END: [c('STREAM_END')],
    USER_END: [c('USER_END')],
  };
}

const MB_LINE = 'x'.repeat(1024 * 1024);

/** Text MistServer would hand us from these bytes (the runner decodes stdin as UTF-8 the same way). */
const decoded = fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('utf8'));

/** One line, mutated: replaced, with NUL, "\r", invalid UTF-8 or control bytes, or 1 MB long. */
const lineMutation: fc.Arbitrary<(line: string) => string> = fc.oneof(
  { weight: 6, arbitrary: fc.constant((l: string) => l) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }).map((s) => () => s) },
  { weight: 1, arbitrary: decoded.map((s) => () => s) },
  { weight: 1, arbitrary: decoded.map((s) => (l: string) => l + s) },
  { weight: 1, arbitrary: fc.nat(80).map((i) => (l: string) => `${l.slice(0, i)}\0${l.slice(i)}`) },
  { weight: 1, arbitrary: fc.constant((l: string) => `${l}\r`) },
  { weight: 1, arbitrary: fc.constant(() => '') },
  {
    weight: 1,
    arbitrary: fc.constantFrom('\u001b[31m', '\u202e', '\ufeff', '../../etc/passwd', '$wildcard', '%00').map((s) => (l: string) => l + s),
  },
);

/** A captured payload with its lines mutated, dropped or added to, joined by LF or CRLF. */
function mutated(base: string): fc.Arbitrary<string> {
  const lines = base.split('\n');
  return fc
    .record({
      mutations: fc.array(lineMutation, { minLength: lines.length, maxLength: lines.length }),
      drop: fc.option(fc.nat(lines.length - 1), { freq: 4 }),
      extra: fc.oneof(
        { weight: 3, arbitrary: fc.constant([]) },
        { weight: 1, arbitrary: fc.array(fc.string({ maxLength: 20 }), { minLength: 1, maxLength: 3 }) },
      ),
      crlf: fc.boolean(),
      trailing: fc.constantFrom('', '', '\n', '\r', '\r\n'),
      huge: fc.option(fc.nat(lines.length - 1), { freq: 40 }),
      // Half the time only one line changes, so most payloads still parse and reach decide.
      only: fc.option(fc.nat(lines.length - 1), { freq: 2 }),
    })
    .map(({ mutations, drop, extra, crlf, trailing, huge, only }) => {
      let out = lines.map((l, i) => (i === huge ? MB_LINE : only === null || only === i ? mutations[i]!(l) : l));
      if (drop !== null) out = out.filter((_, i) => i !== drop);
      out.push(...extra);
      return out.join(crlf ? '\r\n' : '\n') + trailing;
    });
}

/** Hostile payloads for one trigger: mutations of its captures, and random bytes. */
export function payloads(bases: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 5, arbitrary: fc.oneof(...bases.map(mutated)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b).toString('utf8')) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  );
}

export interface Outcome {
  answer: string;
  /** Refused at parse (PayloadError). */
  malformed: boolean;
  /** Anything thrown that is not a PayloadError: a defect even though the runner would refuse. */
  unexpected?: unknown;
}

let sequence = 0;

/** parse → decide → render, like run-trigger.ts, without its process exit. */
export async function runInProcess(trigger: Trigger<unknown>, name: TriggerName, payload: string, db: Database.Database): Promise<Outcome> {
  const refusal = TRIGGERS[name].refusal;
  let event: unknown;
  try {
    event = trigger.parse(payload);
  } catch (err) {
    return err instanceof PayloadError ? { answer: refusal, malformed: true } : { answer: refusal, malformed: true, unexpected: err };
  }
  const now = Date.now();
  const ctx: TriggerContext = {
    db,
    now,
    eventTime: now + sequence,
    eventId: `fuzz-${process.pid}-${++sequence}`,
    log: () => {},
    debug: () => {},
  };
  try {
    const answer: Answer = await trigger.decide(event, ctx);
    return { answer: render(name, answer), malformed: false };
  } catch (err) {
    return err instanceof PayloadError ? { answer: refusal, malformed: false } : { answer: refusal, malformed: false, unexpected: err };
  }
}

/**
 * What an answer may be for a hostile payload: never a "\r" or a line break (so never a trailing
 * newline), informative triggers silent, allow/deny exactly true or false, an admission only to
 * the public channel or a placeholder, a stream only for alice's key. Returns the problem or null.
 */
export function answerProblem(name: TriggerName, payload: string, answer: string, key: string): string | null {
  if (/[\r\n]/.test(answer)) return `answer contains a line break or \\r: ${JSON.stringify(answer.slice(0, 80))}`;
  const spec = TRIGGERS[name];
  if (spec.kind === 'informative' && answer !== '') return `informative trigger printed ${JSON.stringify(answer.slice(0, 80))}`;
  if (spec.kind === 'allow-deny' && answer !== 'true' && answer !== 'false')
    return `allow/deny answer ${JSON.stringify(answer.slice(0, 80))}`;
  if (name === 'USER_NEW' && answer === 'true') {
    const stream = payload.split('\n', 1)[0]!.replace(/\r$/, '').toLowerCase();
    if (!['streams+alice', 'vod', 'offline', 'streams+bob'].includes(stream))
      return `admitted a viewer to ${JSON.stringify(stream.slice(0, 80))}`;
  }
  if ((name === 'PUSH_REWRITE' || name === 'RTMP_PUSH_REWRITE') && answer !== '') {
    if (!payload.includes(key) || !answer.endsWith('streams+alice')) return `push accepted as ${JSON.stringify(answer.slice(0, 80))}`;
  }
  return null;
}

/** Per-trigger tallies, printed by the campaign. */
export class Tally {
  private readonly rows = new Map<string, { runs: number; malformed: number; refused: number; answered: number; programs: number }>();

  add(name: string, outcome: { malformed: boolean; answer: string }, refusal: string, viaProgram = false): void {
    const r = this.rows.get(name) ?? { runs: 0, malformed: 0, refused: 0, answered: 0, programs: 0 };
    if (viaProgram) r.programs++;
    else {
      r.runs++;
      if (outcome.malformed) r.malformed++;
      else if (outcome.answer === refusal) r.refused++;
      else r.answered++;
    }
    this.rows.set(name, r);
  }

  print(): void {
    const lines = [`fuzz campaign: ${RUNS.inProcess} in-process runs and ${RUNS.programs} program runs per trigger`];
    lines.push(
      `  ${'trigger'.padEnd(18)} ${'in process'.padStart(10)} ${'malformed'.padStart(10)} ${'refused'.padStart(8)} ${'answered'.padStart(9)} ${'programs'.padStart(9)}   defects`,
    );
    let total = 0;
    for (const [name, r] of this.rows) {
      total += r.runs + r.programs;
      lines.push(
        `  ${name.padEnd(18)} ${String(r.runs).padStart(10)} ${String(r.malformed).padStart(10)} ${String(r.refused).padStart(8)} ${String(r.answered).padStart(9)} ${String(r.programs).padStart(9)}   0`,
      );
    }
    lines.push(`  total ${total} runs, 0 uncaught errors, 0 unsafe answers (a defect fails the run before this line)`);
    console.log(lines.join('\n'));
  }
}
