// MistServer's `active_streams` answer, read defensively (its shape differs between versions).
import { UserError } from '../lib/errors';

/** The stream names in an `active_streams` answer: an array of names, or an object keyed by name. */
export function activeStreamNames(answer: Record<string, unknown>): string[] {
  if (!('active_streams' in answer))
    throw new UserError('MistServer did not answer the active_streams request (is this a MistServer API?)');
  const list = answer.active_streams;
  if (list === null || list === undefined) return []; // MistServer sends null when nothing is active
  if (Array.isArray(list)) return list.filter((n): n is string => typeof n === 'string');
  if (typeof list === 'object') return Object.keys(list);
  throw new UserError('MistServer answered active_streams in an unexpected shape');
}

/**
 * Each active stream's tags, from `{"active_streams":{"fields":["tags"],"longform":true}}`: MistServer
 * answers an object keyed by stream name, each `{"tags":[...]}` (null when nothing is active).
 */
export function activeStreamTags(answer: Record<string, unknown>): Map<string, string[]> {
  if (!('active_streams' in answer))
    throw new UserError('MistServer did not answer the active_streams request (is this a MistServer API?)');
  const list = answer.active_streams;
  const out = new Map<string, string[]>();
  if (list === null || list === undefined) return out;
  if (typeof list !== 'object' || Array.isArray(list))
    throw new UserError('MistServer answered active_streams in an unexpected shape (expected one object per stream)');
  for (const [name, fields] of Object.entries(list as Record<string, unknown>)) {
    const tags = fields !== null && typeof fields === 'object' ? (fields as { tags?: unknown }).tags : undefined;
    out.set(name, Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : []);
  }
  return out;
}
