// MistServer SIGKILLs a blocking handler as soon as it has read the answer (stdout at EOF). These
// tests do exactly that to the built programs and then read the database: whatever the trigger
// meant to record must already be committed.
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { baseEnv, BIN, freshDb, ROOT } from '../support/helpers';
import { addUser, cli } from '../support/cli';

/** Runs a program like MistServer: payload on stdin, read stdout to EOF, then SIGKILL at once. */
function runAndKillAtAnswer(program: string, trigger: string, payload: string, db: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(join(BIN, program), [trigger], {
      env: baseEnv({ STREAMCTL_DB: db, MIST_TRIGGER: trigger, MIST_TRIG_DEF: 'false' }),
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stdout.on('end', () => child.kill('SIGKILL'));
    child.on('error', reject);
    child.on('close', () => resolvePromise(stdout));
    child.stdin.end(payload);
  });
}

function query<T>(dbPath: string, sql: string, ...args: unknown[]): T[] {
  const db = new Database(dbPath, { readonly: true, nativeBinding: join(ROOT, 'dist', 'better_sqlite3.node') });
  try {
    return db.prepare(sql).all(...args) as T[];
  } finally {
    db.close();
  }
}

const ROUNDS = 5;

describe('commit before answer: a handler killed right after its answer lost nothing', async () => {
  it('keeps every accepted and refused push in the audit log, and the key last use', async () => {
    const db = freshDb();
    const key = await addUser(db, 'alice');
    for (let i = 0; i < ROUNDS; i++) {
      expect(await runAndKillAtAnswer('push-rewrite', 'PUSH_REWRITE', `u\n192.0.2.${i + 1}\n${key}`, db)).toBe('streams+alice');
      expect(await runAndKillAtAnswer('push-rewrite', 'PUSH_REWRITE', `u\n198.51.100.${i + 1}\nstc_${'Q'.repeat(32)}`, db)).toBe('');
    }
    const events = query<{ outcome: string }>(db, "SELECT outcome FROM events WHERE kind = 'push'");
    expect(events.filter((e) => e.outcome === 'accepted')).toHaveLength(ROUNDS);
    expect(events.filter((e) => e.outcome === 'refused')).toHaveLength(ROUNDS);
    const [stamp] = query<{ last_used_at: number | null; last_ip: string | null }>(db, 'SELECT last_used_at, last_ip FROM stream_keys');
    expect(stamp!.last_used_at).not.toBeNull();
    expect(stamp!.last_ip).toBe(`192.0.2.${ROUNDS}`);
    expect(query(db, 'SELECT 1 FROM push_failures')).toHaveLength(ROUNDS);
  });

  it('counts guard failures so that the limit engages even though every handler is killed', async () => {
    const db = freshDb();
    const key = await addUser(db, 'alice');
    expect((await cli(db, ['config', 'set', 'push-guard-failures', '3'])).status).toBe(0);
    for (let i = 0; i < 3; i++)
      await runAndKillAtAnswer('rtmp-push-rewrite', 'RTMP_PUSH_REWRITE', `rtmp://h/live/stc_${'Z'.repeat(32)}\n203.0.113.9`, db);
    expect(await runAndKillAtAnswer('rtmp-push-rewrite', 'RTMP_PUSH_REWRITE', `rtmp://h/live/${key}\n203.0.113.9`, db)).toBe('');
  });

  it('keeps every refused viewer in the audit log', async () => {
    const db = freshDb();
    await addUser(db, 'alice');
    expect((await cli(db, ['channel', 'set', 'alice', '--access', 'private'])).status).toBe(0);
    const session = (n: number) => n.toString(16).padStart(64, '0');
    for (let i = 0; i < ROUNDS; i++) {
      const privateChannel = `streams+alice\n192.0.2.7\n123\nHLS\nhttp://h/hls/streams+alice/index.m3u8\n${session(i + 1)}\nfalse`;
      const notAChannel = `nosuchstream\n192.0.2.8\n123\nHLS\nhttp://h/hls/nosuchstream/index.m3u8\n${session(i + 100)}\nfalse`;
      expect(await runAndKillAtAnswer('user-new', 'USER_NEW', privateChannel, db)).toBe('false');
      expect(await runAndKillAtAnswer('user-new', 'USER_NEW', notAChannel, db)).toBe('false');
    }
    const refused = query<{ reason: string }>(db, "SELECT reason FROM events WHERE kind = 'view' AND outcome = 'refused'");
    expect(refused.filter((e) => e.reason.startsWith('unknown-stream'))).toHaveLength(ROUNDS);
    expect(refused.filter((e) => !e.reason.startsWith('unknown-stream'))).toHaveLength(ROUNDS);
  });
});
