// MistServer's `active_streams` answer, read defensively (its shape differs between versions).
import { UserError } from '../lib/errors';

/** The stream names in an `active_streams` answer: an array of names, or an object keyed by name. */
export function activeStreamNames(answer: Record<string, unknown>): string[] {
  if (!('active_streams' in answer)) throw new UserError('MistServer did not answer the active_streams request (is this a MistServer API?)');
  const list = answer.active_streams;
  if (list === null || list === undefined) return []; // MistServer sends null when nothing is active
  if (Array.isArray(list)) return list.filter((n): n is string => typeof n === 'string');
  if (typeof list === 'object') return Object.keys(list);
  throw new UserError('MistServer answered active_streams in an unexpected shape');
}
