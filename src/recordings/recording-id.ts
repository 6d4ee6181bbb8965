// Recording ids: the public name of a recording (`vod+<id>`). Random, so a viewer cannot walk
// through a channel's archive by counting, and shaped so MistServer keeps them as they are.

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const LENGTH = 16; // 80 bits
const ID_PATTERN = /^[a-z2-7]{16}$/;

/** A fresh random id (node:crypto is loaded only here, on the asynchronous RECORDING_END path). */
export function newRecordingId(): string {
  const { randomBytes } = require('node:crypto') as typeof import('node:crypto');
  const bytes = randomBytes(LENGTH);
  let id = '';
  for (const b of bytes) id += ALPHABET[b & 31];
  return id;
}

/** The canonical id in a stream name's wildcard part, or null when it cannot be one. */
export function parseRecordingId(text: string): string | null {
  const id = text.toLowerCase();
  return ID_PATTERN.test(id) ? id : null;
}
