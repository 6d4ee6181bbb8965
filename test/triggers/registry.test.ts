// The registry's kind and refusal must agree: the refusal is also the `default` streamctl configures
// in MistServer, where an empty default on an allow/deny trigger means `true` (fail-open).
import { describe, expect, it } from 'vitest';
import { ALLOW, DENY, render, SILENT, UNCHANGED, value } from '../../src/triggers/answer';
import { TRIGGERS, type TriggerName } from '../../src/triggers/registry';

const names = Object.keys(TRIGGERS) as TriggerName[];

describe('trigger registry', () => {
  it('gives every allow/deny trigger the refusal "false" and every other trigger an empty one', () => {
    for (const name of names) expect([name, TRIGGERS[name].refusal]).toEqual([name, TRIGGERS[name].kind === 'allow-deny' ? 'false' : '']);
  });

  it('marks informative triggers non-blocking and every answering trigger blocking', () => {
    for (const name of names) expect([name, TRIGGERS[name].blocking]).toEqual([name, TRIGGERS[name].kind !== 'informative']);
  });
});

describe('render', () => {
  it("prints allow as true and deny as the trigger's own refusal", () => {
    expect(render('USER_NEW', ALLOW)).toBe('true');
    expect(render('USER_NEW', DENY)).toBe('false');
    expect(render('PUSH_REWRITE', DENY)).toBe('');
  });

  it('prints a value as given, and nothing for silent or unchanged answers', () => {
    expect(render('PUSH_REWRITE', value('streams+alice'))).toBe('streams+alice');
    expect(render('STREAM_BUFFER', SILENT)).toBe('');
    expect(render('STREAM_SOURCE', UNCHANGED)).toBe('');
  });

  it('turns an empty value into a refusal rather than printing an empty stream name as accepted', () => {
    expect(value('')).toBe(DENY);
  });
});
