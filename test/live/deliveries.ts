// Live-status events delivered in process: STREAM_BUFFER, STREAM_END and USER_END payloads through
// their trigger modules with MistServer's MIST_TIME / MIST_TUUID, as the runner would pass them.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Db } from '../../src/store/open';
import streamBuffer from '../../src/triggers/stream-buffer';
import streamEnd from '../../src/triggers/stream-end';
import userEnd from '../../src/triggers/user-end';
import { fixture, fixtureEnv } from '../support/helpers';
import { answerSync, fromMistEnv, type Answered } from '../support/trigger';

export type LiveTrigger = 'STREAM_BUFFER' | 'STREAM_END' | 'USER_END';
export const MODULES = { STREAM_BUFFER: streamBuffer, STREAM_END: streamEnd, USER_END: userEnd } as const;

export type Delivery = { trigger: LiveTrigger; payload: string; env: Record<string, string> };

/** The payload with its stream line(s) pointed at another channel. */
export const forChannel = (payload: string, from: string, to: string) =>
  payload
    .split('\n')
    .map((l) => (l === from ? to : l))
    .join('\n');

/** A captured event, optionally moved to another channel, with its recorded MIST_TIME/MIST_TUUID. */
export function captured(name: string, moveTo?: { from: string; to: string }): Delivery {
  const trigger = name.split('/')[1]!.replace(/-\d+$/, '') as LiveTrigger;
  const payload = moveTo ? forChannel(fixture(name), moveTo.from, moveTo.to) : fixture(name);
  if (moveTo && payload === fixture(name)) throw new Error(`${name} has no stream line "${moveTo.from}"`);
  return { trigger, payload, env: fixtureEnv(name) };
}

/** Delivers one event in process; informative triggers never answer anything. */
export function deliver(db: Db, d: Delivery, debug = false): Answered {
  const module = MODULES[d.trigger] as typeof streamBuffer;
  const r = answerSync(module, db, d.payload, { ...fromMistEnv(d.env), debug });
  expect(r.answer).toBe('');
  return r;
}

/** A synthetic event at a given MIST_TIME with its own MIST_TUUID. */
export const at = (trigger: LiveTrigger, payload: string, time: number, id = `${trigger}-${time}-${payload.length}`): Delivery => ({
  trigger,
  payload,
  env: { MIST_TIME: String(time), MIST_TUUID: id },
});

export const HEALTH = fixture('01-basic-push-alice/STREAM_BUFFER-1').split('\n')[2]!;
export const full = (stream: string, time: number, id?: string) => at('STREAM_BUFFER', `${stream}\nFULL\n${HEALTH}`, time, id);
export const empty = (stream: string, time: number, id?: string) => at('STREAM_BUFFER', `${stream}\nEMPTY`, time, id);
export const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Deterministic shuffle (a test that fails must fail again). */
export function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** A hook script in a temp dir that appends its stdin, one event per line, to a file next to it. */
export function recordingHook(dir: string, name: string): { program: string; events: () => any[] } {
  const program = join(dir, name);
  const out = join(dir, `${name}.jsonl`);
  writeFileSync(program, `#!/bin/sh\ncat >> "${out}"\necho >> "${out}"\n`);
  chmodSync(program, 0o755);
  return {
    program,
    events: () =>
      existsSync(out)
        ? readFileSync(out, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l))
        : [],
  };
}
