// Keys that verify playback tokens. Secrets (HS256) and public keys (ES256/EdDSA) live here and
// nowhere else: never in logs, events, or MistServer's configuration.
import type { Db } from './open';
import { stmt } from './statements';

export type TokenKeyKind = 'secret' | 'public';
export type TokenAlg = 'HS256' | 'ES256' | 'EdDSA';

export interface TokenKey {
  id: number;
  kind: TokenKeyKind;
  alg: TokenAlg;
  /** The HS256 secret text, or the public key PEM. */
  material: string;
  label: string;
  createdAt: number;
  /** Stops verifying at this time (rotation grace); null = current. */
  retiredAt: number | null;
}

const COLUMNS = 'id, kind, alg, material, label, created_at AS createdAt, retired_at AS retiredAt';

/** Keys that verify tokens at `now` (current ones and those still in their grace period). */
export function activeTokenKeys(db: Db, now: number): TokenKey[] {
  return stmt(db, `SELECT ${COLUMNS} FROM token_keys WHERE retired_at IS NULL OR retired_at > ? ORDER BY id DESC`).all(now) as TokenKey[];
}

/** Every key, newest first; retired ones only when asked. */
export function listTokenKeys(db: Db, now: number, includeRetired: boolean): TokenKey[] {
  return stmt(db, `SELECT ${COLUMNS} FROM token_keys WHERE ? OR retired_at IS NULL OR retired_at > ? ORDER BY id DESC`).all(
    includeRetired ? 1 : 0,
    now,
  ) as TokenKey[];
}

/** The current HS256 secret (the one `token issue` signs with), if any. */
export function currentSecret(db: Db): TokenKey | undefined {
  return stmt(db, `SELECT ${COLUMNS} FROM token_keys WHERE kind = 'secret' AND retired_at IS NULL ORDER BY id DESC LIMIT 1`).get() as
    | TokenKey
    | undefined;
}

/** Stores a key; returns its id. */
export function insertTokenKey(db: Db, k: { kind: TokenKeyKind; alg: TokenAlg; material: string; label: string; now: number }): number {
  return Number(
    stmt(db, 'INSERT INTO token_keys (kind, alg, material, label, created_at) VALUES (?, ?, ?, ?, ?)').run(
      k.kind,
      k.alg,
      k.material,
      k.label,
      k.now,
    ).lastInsertRowid,
  );
}

/** Retires every current secret at `at` (now, or now + grace); returns how many. */
export function retireSecrets(db: Db, at: number): number {
  return stmt(db, `UPDATE token_keys SET retired_at = ? WHERE kind = 'secret' AND (retired_at IS NULL OR retired_at > ?)`).run(at, at)
    .changes;
}

/** Retires one key at once; false when no working key has this id. */
export function retireTokenKey(db: Db, id: number, now: number): boolean {
  return (
    stmt(db, 'UPDATE token_keys SET retired_at = ? WHERE id = ? AND (retired_at IS NULL OR retired_at > ?)').run(now, id, now).changes > 0
  );
}
