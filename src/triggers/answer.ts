// What a trigger's decision is, typed by the trigger's kind, and the one place it becomes the text
// MistServer reads. Decisions never spell `true`, `false` or the refusal themselves.
import { TRIGGERS, type TriggerKind, type TriggerName } from './registry';

/** Informative triggers: MistServer ignores stdout, so nothing is printed. */
export interface Silent {
  readonly kind: 'silent';
}
/** Allow/deny triggers: admit. */
export interface Allow {
  readonly kind: 'allow';
}
/** Every blocking trigger: refuse, printed as the registry's refusal for that trigger. */
export interface Deny {
  readonly kind: 'deny';
}
/** Value triggers: keep MistServer's own choice (configured source, default stream): empty. */
export interface Unchanged {
  readonly kind: 'unchanged';
}
/** Value triggers: the stream name, push target or path MistServer should use (never empty). */
export interface Value {
  readonly kind: 'value';
  readonly value: string;
}

export type Answer = Silent | Allow | Deny | Unchanged | Value;

/** The answers a trigger of kind K may give. */
export type AnswerFor<K extends TriggerKind> = K extends 'informative'
  ? Silent
  : K extends 'allow-deny'
    ? Allow | Deny
    : Value | Unchanged | Deny;

export const SILENT: Silent = { kind: 'silent' };
export const ALLOW: Allow = { kind: 'allow' };
export const DENY: Deny = { kind: 'deny' };
export const UNCHANGED: Unchanged = { kind: 'unchanged' };

/**
 * A value answer; an empty text would read as a refusal to MistServer, so it is one, and so is a
 * text with a line break or "\r" (no stream name, target or path has one; MistServer would use it raw).
 */
export function value(text: string): Value | Deny {
  return text === '' || /[\r\n]/.test(text) ? DENY : { kind: 'value', value: text };
}

/** The exact stdout text for an answer of the trigger `name` (no trailing newline, ever). */
export function render(name: TriggerName, answer: Answer): string {
  switch (answer.kind) {
    case 'silent':
    case 'unchanged':
      return '';
    case 'allow':
      return 'true';
    case 'deny':
      return TRIGGERS[name].refusal;
    case 'value':
      return answer.value;
  }
}
