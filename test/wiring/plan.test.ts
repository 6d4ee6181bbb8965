// The trigger part of `mist apply`'s plan, as a pure function of MistServer's configuration and
// the registry: every installed trigger once, ours last, blocking ones never fail-open.
import { describe, expect, it } from 'vitest';
import { desiredSetup } from '../../src/wiring/desired';
import {
  desiredEntry,
  installedTriggers,
  mistDefaultFor,
  NOT_INSTALLED,
  planTriggers,
  readEntry,
  REFUSING_DEFAULT,
} from '../../src/wiring/plan';
import { TRIGGERS, type TriggerName } from '../../src/triggers/registry';
import { memoryDb } from '../support/db';

const desired = desiredSetup(memoryDb());
const names = Object.keys(TRIGGERS) as TriggerName[];

describe('installed triggers', () => {
  it('are the registry minus the documented exceptions, and not empty', () => {
    expect(installedTriggers().length).toBeGreaterThan(0);
    expect(installedTriggers()).toEqual(names.filter((n) => !(n in NOT_INSTALLED)));
    expect(Object.keys(NOT_INSTALLED)).toEqual(['RTMP_PUSH_REWRITE']);
  });

  it('get a default only when blocking, and never an empty one', () => {
    for (const name of names) {
      const spec = TRIGGERS[name];
      const dflt = mistDefaultFor(spec);
      if (!spec.blocking) expect(dflt, name).toBeUndefined();
      else expect(dflt, name).toBe(spec.refusal === '' ? REFUSING_DEFAULT : spec.refusal);
    }
    expect(names.some((n) => TRIGGERS[n].blocking)).toBe(true);
  });
});

describe('planTriggers', () => {
  it('adds one entry per installed trigger to an empty configuration', () => {
    const { triggers, changes, unchanged } = planTriggers({}, desired);
    expect(Object.keys(triggers).sort()).toEqual([...installedTriggers()].sort());
    expect(changes.map((c) => [c.action, c.name]).sort()).toEqual(
      installedTriggers()
        .map((n) => ['add', n])
        .sort(),
    );
    expect(unchanged).toBe(0);
    for (const name of installedTriggers()) {
      expect(triggers[name], name).toEqual([desiredEntry(name, desired)]);
      const entry = readEntry((triggers[name] as unknown[])[0])!;
      expect(entry.sync, name).toBe(TRIGGERS[name].blocking);
      expect(entry.handler.endsWith(`/bin/${TRIGGERS[name].program}`), entry.handler).toBe(true);
      if (entry.sync) expect(entry.default, name).not.toBe('');
    }
  });

  it('changes nothing when run on its own result', () => {
    const first = planTriggers({}, desired);
    const again = planTriggers(first.triggers, desired);
    expect(again.changes).toEqual([]);
    expect(again.unchanged).toBe(installedTriggers().length);
    expect(again.triggers).toEqual(first.triggers);
  });

  it('keeps foreign entries first, fixes a fail-open default of ours, and removes ours from RTMP_PUSH_REWRITE', () => {
    const foreign = { handler: '/usr/local/bin/audit', sync: true, streams: [], default: 'x' };
    const ours = desiredEntry('PUSH_REWRITE', desired);
    const current = {
      ...planTriggers({}, desired).triggers,
      PUSH_REWRITE: [{ ...ours, default: '' }, foreign],
      RTMP_PUSH_REWRITE: [{ handler: desired.handlerFor(TRIGGERS.RTMP_PUSH_REWRITE), sync: true, streams: [], default: '' }],
    };
    const { triggers, changes } = planTriggers(current, desired);
    expect(triggers.PUSH_REWRITE).toEqual([foreign, ours]);
    expect(triggers).not.toHaveProperty('RTMP_PUSH_REWRITE');
    expect(changes).toEqual([
      expect.objectContaining({ action: 'update', name: 'PUSH_REWRITE', detail: expect.stringContaining('fail-open') }),
      expect.objectContaining({ action: 'remove', name: 'RTMP_PUSH_REWRITE' }),
    ]);
  });

  it("reads MistServer's old array form of an entry", () => {
    expect(readEntry(['/x/bin/push-rewrite', true, ['streams']])).toEqual({
      handler: '/x/bin/push-rewrite',
      sync: true,
      streams: ['streams'],
      default: '',
      params: '',
    });
    expect(readEntry('nonsense')).toBeNull();
  });
});
