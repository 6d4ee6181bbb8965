// `mist apply --role`: what an origin and an edge get from MistServer, planned against answers
// shaped like MistServer 3.10's (the edge's source and push guard were read back from the real
// server: docs/deployment.md), and the plan applied the way MistServer stores it until nothing is left.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkMistConfig } from '../../src/doctor/doctor';
import { desiredSetup } from '../../src/wiring/desired';
import { planSetup, REFUSING_DEFAULT, type Desired } from '../../src/wiring/plan';
import { originProblem, pullSource } from '../../src/wiring/roles';
import { EDGE_TRIGGERS, TRIGGERS } from '../../src/triggers/registry';
import { freshDb, tempDir } from '../support/helpers';
import { cli } from '../support/cli';
import { memoryDb } from '../support/db';

type Json = Record<string, any>;

// Every program as an executable file in a bin/ of its own (the edge's are built on another branch).
const bin = join(tempDir(), 'bin');
mkdirSync(bin);
for (const spec of [...Object.values(TRIGGERS), ...Object.values(EDGE_TRIGGERS)]) {
  writeFileSync(join(bin, spec.program), '#!/bin/sh\n');
  chmodSync(join(bin, spec.program), 0o755);
}
const db = memoryDb();
const inBin = (d: Desired): Desired => ({ ...d, handlerFor: (spec) => join(bin, spec.program) });
const single = inBin(desiredSetup(db));
const edge = inBin(desiredSetup(db, { role: 'edge', origin: '10.0.0.1' }));
const origin = inBin(desiredSetup(db, { role: 'origin' }));

/** A MistServer answer to READ_REQUEST, from a stored state. */
function answerOf(state: Json): Json {
  return {
    config: { triggers: state.triggers, protocols: state.protocols },
    streams: state.streams,
    auto_push: Object.fromEntries(state.pushes.map((p: Json, i: number) => [String(i + 1), p])),
    jwks: [],
  };
}

/** Applies plan requests as MistServer stores them (config.triggers replaced whole, addstream merged, ...). */
function applyRequests(state: Json, requests: Json[]): void {
  for (const r of requests) {
    if (r.config?.triggers) state.triggers = structuredClone(r.config.triggers);
    if (r.addstream) Object.assign(state.streams, structuredClone(r.addstream));
    if (r.push_auto_add) state.pushes.push(r.push_auto_add);
    if (r.push_auto_remove !== undefined) {
      const key = r.push_auto_remove;
      state.pushes = state.pushes.filter(
        (p: Json, i: number) => String(i + 1) !== key && !(Array.isArray(key) && key[0] === p.stream && key[1] === p.target),
      );
    }
    if (r.addprotocol) state.protocols.push(r.addprotocol);
    if (r.updateprotocol) {
      const [old, next] = r.updateprotocol;
      state.protocols = state.protocols.map((p: Json) => (JSON.stringify(p) === JSON.stringify(old) ? next : p));
    }
  }
}

const blank = (): Json => ({
  triggers: {},
  streams: {},
  pushes: [],
  protocols: [{ connector: 'HTTP', interface: '127.0.0.1', port: 8080 }],
});

/** Plans and applies until MistServer holds what `desired` wants; returns the first plan. */
function converge(state: Json, desired: Desired) {
  const first = planSetup(answerOf(state), desired);
  applyRequests(state, first.requests);
  expect(planSetup(answerOf(state), desired).changes).toEqual([]);
  return first;
}

describe('edge', () => {
  it('pulls live streams from the origin over DTSC, plays recordings from shared storage, runs only the viewer-side programs, with a refusing push guard', () => {
    const state = blank();
    converge(state, edge);
    // Recordings are not pulled (MistServer 3.10's edge drops a VoD stream pulled over DTSC): the
    // placeholder, and the edge's STREAM_SOURCE answers the file on shared storage.
    expect(state.streams).toEqual({
      streams: { name: 'streams', source: 'dtsc://10.0.0.1:4200' },
      vod: { name: 'vod', source: edge.vodSource },
    });
    expect(edge.vodSource).toBe(single.vodSource);
    expect(Object.keys(state.triggers).sort()).toEqual(['PUSH_REWRITE', 'STREAM_BUFFER', 'STREAM_SOURCE', 'USER_END', 'USER_NEW']);
    const handler = (t: string) => state.triggers[t][0].handler as string;
    expect(handler('USER_NEW')).toMatch(/\/bin\/edge-user-new$/);
    expect(state.triggers.USER_NEW[0]).toMatchObject({ sync: true, default: 'false', streams: ['!#open'] });
    expect(handler('USER_END')).toMatch(/\/bin\/edge-user-end$/);
    expect(state.triggers.USER_END[0].sync).toBe(false);
    expect(handler('STREAM_BUFFER')).toMatch(/\/bin\/edge-stream-buffer$/);
    // Blocking, with a default no input accepts: a slow handler never plays something else.
    expect(state.triggers.STREAM_SOURCE).toEqual([
      { handler: join(bin, 'edge-stream-source'), sync: true, streams: [], default: REFUSING_DEFAULT },
    ]);
    // No program: MistServer answers the default, which names no stream, so every push is refused.
    expect(state.triggers.PUSH_REWRITE).toEqual([{ handler: '', sync: true, streams: [], default: REFUSING_DEFAULT }]);
    expect(state.pushes).toEqual([]);
    expect(checkMistConfig(answerOf(state), edge).filter((f) => f.status === 'fail')).toEqual([]);
  });

  it('turns a one-box server into an edge: one-box handlers and the recording push go, foreign handlers stay', () => {
    const state = blank();
    converge(state, single);
    state.triggers.PUSH_REWRITE.unshift({ handler: '/opt/other/hook', sync: true, streams: [], default: 'x' });
    const plan = converge(state, edge);
    expect(
      plan.changes
        .filter((c) => c.action === 'remove')
        .map((c) => `${c.area} ${c.name}`)
        .sort(),
    ).toEqual(
      ['recording push streams+', 'trigger DEFAULT_STREAM', 'trigger PUSH_OUT_START', 'trigger RECORDING_END', 'trigger STREAM_END'].sort(),
    );
    // STREAM_SOURCE stays, now the edge's program; the VoD stream keeps the placeholder.
    expect(plan.changes.find((c) => c.name === 'STREAM_SOURCE')).toMatchObject({
      action: 'update',
      detail: expect.stringContaining('edge-stream-source'),
    });
    expect(state.streams.vod.source).toBe(edge.vodSource);
    // The foreign handler runs first; the guard's answer is the one MistServer uses.
    expect(state.triggers.PUSH_REWRITE.map((e: Json) => e.handler)).toEqual(['/opt/other/hook', '']);
    expect(state.streams.streams.source).toBe('dtsc://10.0.0.1:4200');
    // doctor on the edge: a one-box handler left behind is named.
    const back = structuredClone(state);
    back.triggers.STREAM_END = [{ handler: join(bin, 'stream-end'), sync: false, streams: [] }];
    expect(checkMistConfig(answerOf(back), edge).find((f) => f.check === 'trigger STREAM_END')).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('one-box handler'),
    });
    // The one-box STREAM_SOURCE (it would open a database the edge does not have) is not the edge's.
    back.triggers.STREAM_SOURCE = [{ handler: join(bin, 'stream-source'), sync: true, streams: [], default: REFUSING_DEFAULT }];
    expect(checkMistConfig(answerOf(back), edge).find((f) => f.check === 'trigger STREAM_SOURCE')).toMatchObject({ status: 'fail' });
  });

  it('turns an edge back into one box: the push guard is removed, pushes reach push-rewrite again', () => {
    const state = blank();
    converge(state, edge);
    converge(state, single);
    expect(state.triggers.PUSH_REWRITE).toHaveLength(1);
    expect(state.triggers.PUSH_REWRITE[0].handler).toMatch(/\/bin\/push-rewrite$/);
    expect(state.streams.streams.source).toBe('push://');
  });

  it('doctor fails an edge whose MistServer lost the guard, has a fail-open USER_NEW or pulls from elsewhere', () => {
    const state = blank();
    converge(state, edge);
    const broken = structuredClone(state);
    delete broken.triggers.PUSH_REWRITE;
    broken.triggers.USER_NEW[0].default = '';
    // The old edge plan (a VoD pull over DTSC, which MistServer 3.10's edge cannot play) is corrected.
    broken.streams.vod.source = 'dtsc://10.0.0.1:4200';
    const fails = checkMistConfig(answerOf(broken), edge).filter((f) => f.status === 'fail');
    expect(fails.map((f) => f.check).sort()).toEqual(['streams', 'trigger PUSH_REWRITE', 'trigger USER_NEW']);
    expect(fails.find((f) => f.check === 'trigger USER_NEW')!.message).toContain('fail-open');
  });

  it('warns about a DTSC output others can reach (a DTSC pull runs no USER_NEW)', () => {
    const state = blank();
    state.protocols.push({ connector: 'DTSC' });
    converge(state, edge);
    expect(planSetup(answerOf(state), edge).notes.join('\n')).toMatch(/DTSC listens on every interface port 4200.*without USER_NEW/);
    expect(checkMistConfig(answerOf(state), edge).find((f) => f.check === 'dtsc')).toMatchObject({ status: 'warn' });
    state.protocols[1].interface = '127.0.0.1';
    expect(checkMistConfig(answerOf(state), edge).find((f) => f.check === 'dtsc')).toMatchObject({ status: 'ok' });
  });
});

describe('origin', () => {
  it('is one box plus a DTSC output the edges can reach (added when missing)', () => {
    const state = blank();
    const plan = converge(state, origin);
    expect(plan.changes.find((c) => c.area === 'protocol')).toMatchObject({ action: 'add', name: 'DTSC' });
    expect(state.protocols).toContainEqual({ connector: 'DTSC', port: 4200 });
    expect(state.streams.streams.source).toBe('push://');
    expect(state.triggers.PUSH_REWRITE[0].handler).toMatch(/\/bin\/push-rewrite$/);
    expect(state.pushes).toHaveLength(1);
    expect(plan.notes.join('\n')).toMatch(/firewall/);
    const dtsc = checkMistConfig(answerOf(state), origin).find((f) => f.check === 'dtsc');
    expect(dtsc).toMatchObject({ status: 'warn', fix: expect.stringContaining('firewall') });
  });

  it('moves a loopback-only DTSC output to every interface, keeping its port', () => {
    const state = blank();
    state.protocols.push({ connector: 'DTSC', interface: '127.0.0.1', port: 4300, online: 1 });
    expect(checkMistConfig(answerOf(state), origin).find((f) => f.check === 'dtsc')).toMatchObject({ status: 'fail' });
    const plan = planSetup(answerOf(state), origin);
    expect(plan.requests).toContainEqual({
      updateprotocol: [
        { connector: 'DTSC', interface: '127.0.0.1', port: 4300 },
        { connector: 'DTSC', port: 4300 },
      ],
    });
    expect(plan.changes.find((c) => c.area === 'protocol')!.detail).toBe(
      '127.0.0.1 port 4300 → every interface (edges cannot reach loopback)',
    );
  });

  it('leaves a DTSC output on a private address alone', () => {
    const state = blank();
    state.protocols.push({ connector: 'DTSC', interface: '10.0.0.1', port: 4200 });
    expect(planSetup(answerOf(state), origin).changes.filter((c) => c.area === 'protocol')).toEqual([]);
  });

  it('changes nothing on one box', () => {
    const state = blank();
    expect(planSetup(answerOf(state), single).changes.filter((c) => c.area === 'protocol')).toEqual([]);
  });
});

describe('origin addresses', () => {
  it('makes the pull source with the default DTSC port unless one is given', () => {
    expect(pullSource('origin.example')).toBe('dtsc://origin.example:4200');
    expect(pullSource('10.0.0.1:4300')).toBe('dtsc://10.0.0.1:4300');
    expect(pullSource('fd00::1')).toBe('dtsc://[fd00::1]:4200');
    expect(pullSource('[fd00::1]:4300')).toBe('dtsc://[fd00::1]:4300');
  });

  it('refuses anything but a host and port (it is written into MistServer)', () => {
    expect(originProblem('')).toMatch(/--origin/);
    for (const bad of ['a b', 'x/y', 'host:port', 'dtsc://x', 'a;rm', 'h\nx']) expect(originProblem(bad), bad).toMatch(/invalid origin/);
    for (const good of ['origin', 'origin.example', '10.0.0.1', '10.0.0.1:4200', 'fd00::1', '[fd00::1]:4200'])
      expect(originProblem(good), good).toBeNull();
  });
});

describe('mist apply --role', () => {
  it('names a bad role, a missing or malformed origin, and --origin off an edge', async () => {
    const file = freshDb();
    const run = (...args: string[]) => cli(file, ['mist', 'apply', '--api', 'http://127.0.0.1:9', ...args]);
    expect(await run('--role', 'relay')).toMatchObject({
      status: 1,
      stderr: 'streamctl: invalid --role "relay": expected single, origin or edge\n',
    });
    expect((await run('--role', 'edge')).stderr).toBe('streamctl: no origin given: use --origin <host> or set origin= in streamctl.conf\n');
    expect((await run('--role', 'edge', '--origin', 'x y')).stderr).toContain('invalid origin "x y"');
    expect((await run('--role', 'origin', '--origin', 'x')).stderr).toBe(
      "streamctl: --origin is for an edge; this server's role is origin\n",
    );
  });
});
