// The --json contract: every command takes --json, and what each prints (writes included, errors
// too) validates against its schema in schemas/. The outputs are real: a real database, real
// trigger runs for live state and recordings, a fake MistServer API for `mist apply`.
import Ajv from 'ajv';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { createContext } from '../../src/cli/context';
import { buildProgram } from '../../src/cli/program';
import { startFakeMist } from '../support/fake-mist';
import { REDIS_SERVER, startRedis } from '../support/redis';
import { connectRedis } from '../../src/lib/resp';
import { recordEvent } from '../../src/store/events';
import { openForCli } from '../../src/store/open';
import { fixture, freshDb, ROOT, tempDir, type RunResult } from '../support/helpers';
import { cli } from '../support/cli';
import { runInProcess } from '../support/trigger';
import { startReceiver } from '../webhooks/receiver';

const SCHEMAS = join(ROOT, 'schemas');
const ajv = new Ajv({ allErrors: true, allowUnionTypes: true });
for (const file of readdirSync(SCHEMAS)) ajv.addSchema(JSON.parse(readFileSync(join(SCHEMAS, file), 'utf8')));

/**
 * Commands whose output cannot be JSON, with why. Any other command without --json, or not run
 * below, fails this file: a new command declares its shape in schemas/ and is run here.
 */
const NOT_JSON: Record<string, string> = {
  metrics: 'Prometheus text exposition format: what the scraper (node_exporter textfile collector) reads',
  completion: 'a shell script for bash, zsh or fish to source',
  man: 'the man page, in roff for man(1)',
};

/** Every command of the program that does something (not a bare group), as "user add". */
function leafCommands(): string[] {
  const out: string[] = [];
  const walk = (c: Command, path: string[]) => {
    if ((c as unknown as { _actionHandler: unknown })._actionHandler) out.push(path.join(' '));
    for (const sub of c.commands) walk(sub, [...path, sub.name()]);
  };
  walk(buildProgram(createContext({ out() {}, err() {} })), []);
  return out;
}

interface Run {
  /** The command, as leafCommands() names it. */
  command: string;
  args: string[];
  schema: string;
  array?: boolean;
  status?: number;
  stdin?: string;
  /** Extra environment (e.g. STREAMCTL_CONF pointing into a temp folder). */
  env?: Record<string, string>;
}

const covered = new Set<string>();

function validate(run: Run, r: RunResult): any {
  covered.add(run.command);
  expect(r.status, `${run.args.join(' ')}: ${r.stderr}`).toBe(run.status ?? 0);
  const value = JSON.parse(r.stdout);
  const check = ajv.getSchema(`${run.schema}.schema.json`)!;
  for (const item of run.array ? value : [value]) {
    if (!check(item))
      throw new Error(
        `${run.args.join(' ')} does not match ${run.schema}: ${ajv.errorsText(check.errors)}\n${JSON.stringify(item, null, 2)}`,
      );
  }
  if (run.array) expect(Array.isArray(value), run.args.join(' ')).toBe(true);
  return value;
}

/** Runs `streamctl <args> --json` in process (the same `run` bin/streamctl calls) and validates what it printed. */
async function run(db: string, r: Run): Promise<any> {
  return validate(r, await cli(db, [...r.args, '--json'], { env: r.env, stdin: r.stdin }));
}

describe('--json on every command', () => {
  it('every command that does something has --json', () => {
    const commands = leafCommands();
    expect(commands.length).toBeGreaterThan(40);
    // An exemption for a command that no longer exists would hide its replacement's missing --json.
    expect(Object.keys(NOT_JSON).filter((c) => !commands.includes(c))).toEqual([]);
    for (const c of commands.filter((name) => !(name in NOT_JSON))) {
      const program = buildProgram(createContext({ out() {}, err() {} }));
      let cmd: Command = program;
      for (const part of c.split(' ')) cmd = cmd.commands.find((s) => s.name() === part)!;
      expect(
        cmd.options.some((o) => o.long === '--json'),
        `${c} has no --json`,
      ).toBe(true);
    }
  });

  it('every output validates against its schema, and every command was run', async () => {
    const db = freshDb();
    const root = join(tempDir(), 'recordings');
    mkdirSync(root);
    const mist = await startFakeMist();
    const j = (r: Run) => run(db, r);

    await j({ command: 'db migrate', args: ['db', 'migrate'], schema: 'db' });
    // install.sh's database step (test/process/install.test.ts runs it there); never prints the secret.
    const setup = await j({ command: 'db setup', args: ['db', 'setup', '--state-dir', '/srv/streamctl'], schema: 'db-setup' });
    expect(setup).toMatchObject({
      path: db,
      applied: [],
      token_secret: 'created',
      recordings_root: '/srv/streamctl/recordings',
      vod_placeholder: '/srv/streamctl/placeholder.mkv',
    });
    await j({ command: 'db path', args: ['db', 'path'], schema: 'db' });
    await j({ command: 'db status', args: ['db', 'status'], schema: 'db' });
    expect(await j({ command: 'db check', args: ['db', 'check'], schema: 'db-check' })).toEqual({
      path: db,
      ok: true,
      integrity: [],
      foreign_keys: [],
    });
    const backupFile = join(tempDir(), 'backup.db');
    const backup = await j({ command: 'db backup', args: ['db', 'backup', backupFile], schema: 'db-backup' });
    expect(backup).toMatchObject({ database: db, backup: backupFile, bytes: statSync(backupFile).size });
    // init writes db= into the config file: STREAMCTL_CONF keeps it in a temp folder (without it,
    // init would write streamctl.conf beside the program, i.e. into this checkout).
    const initDir = tempDir();
    const conf = join(initDir, 'streamctl.conf');
    const initialised = await j({
      command: 'init',
      args: ['init', '--db', join(initDir, 'init.db')],
      schema: 'init',
      env: { STREAMCTL_CONF: conf },
    });
    expect(initialised).toMatchObject({
      config: conf,
      path: join(initDir, 'init.db'),
      token_secret: 'created',
      recordings_root: join(initDir, 'recordings'),
    });
    expect(readFileSync(conf, 'utf8')).toContain(`db=${join(initDir, 'init.db')}\n`);
    await j({ command: 'config set', args: ['config', 'set', 'recordings-root', root], schema: 'setting' });
    await j({ command: 'config set', args: ['config', 'set', 'vod-placeholder', join(root, 'placeholder.mkv')], schema: 'setting' });
    await j({ command: 'config get', args: ['config', 'get', 'recordings-root'], schema: 'setting' });
    await j({ command: 'config unset', args: ['config', 'unset', 'token-max-ttl'], schema: 'setting' });
    await j({ command: 'config list', args: ['config', 'list'], schema: 'setting', array: true });

    // One shape per noun: user add, show, list, disable, enable print the same user object.
    const added = await j({
      command: 'user add',
      args: ['user', 'add', 'alice', '--display-name', 'Alice A.', '--external-id', 'site-1'],
      schema: 'user',
    });
    expect(added.key).toMatch(/^stc_/);
    const shown = await j({ command: 'user show', args: ['user', 'show', 'alice'], schema: 'user' });
    const { key, new_key, ...userPart } = added;
    expect(shown).toEqual(userPart);
    expect(new_key.label).toBe('default');
    expect(await j({ command: 'user list', args: ['user', 'list'], schema: 'user', array: true })).toEqual([shown]);
    expect((await j({ command: 'user disable', args: ['user', 'disable', 'alice'], schema: 'user' })).disabled).toBe(true);
    expect(await j({ command: 'user enable', args: ['user', 'enable', 'alice'], schema: 'user' })).toEqual(shown);
    await j({ command: 'user add', args: ['user', 'add', 'bob'], schema: 'user' });

    const synced = await j({
      command: 'sync',
      args: ['sync', '-'],
      schema: 'sync-report',
      stdin: JSON.stringify({
        users: [{ name: 'carol', external_id: 'site-3' }],
        channels: [{ user: 'carol', access: 'paid', grants: [{ viewer: 'viewer-9' }] }],
      }),
    });
    expect(synced.changed).toBe(true);
    await j({ command: 'key add', args: ['key', 'add', 'alice', '--label', 'backup'], schema: 'key' });
    const rotated = await j({ command: 'key rotate', args: ['key', 'rotate', 'alice', '--grace', '1h'], schema: 'key' });
    expect(rotated.revoked_keys).toBe(2);
    await j({ command: 'key list', args: ['key', 'list', 'alice', '--all'], schema: 'key', array: true });
    await j({ command: 'key revoke', args: ['key', 'revoke', 'alice', 'backup'], schema: 'key' });

    await j({ command: 'channel set', args: ['channel', 'set', 'alice', '--access', 'paid', '--record', 'on'], schema: 'channel' });
    const channel = await j({ command: 'channel show', args: ['channel', 'show', 'alice'], schema: 'channel' });
    expect(channel.access).toBe('paid');
    await j({ command: 'channel password', args: ['channel', 'password', 'bob'], schema: 'channel', stdin: 'correct horse' });
    expect(
      (
        await j({
          command: 'channel check-password',
          args: ['channel', 'check-password', 'bob'],
          schema: 'password-check',
          stdin: 'correct horse',
        })
      ).match,
    ).toBe(true);
    expect(
      (
        await j({
          command: 'channel check-password',
          args: ['channel', 'check-password', 'bob'],
          schema: 'password-check',
          stdin: 'wrong',
          status: 1,
        })
      ).match,
    ).toBe(false);

    await j({ command: 'grant add', args: ['grant', 'add', 'alice', 'viewer-1', '--until', '30d'], schema: 'grant' });
    await j({ command: 'grant list', args: ['grant', 'list', 'alice'], schema: 'grant', array: true });
    await j({ command: 'grant remove', args: ['grant', 'remove', 'alice', 'viewer-1'], schema: 'grant' });
    const ban = await j({ command: 'ban add', args: ['ban', 'add', '--ip', '203.0.113.0/24', '--reason', 'spam'], schema: 'ban' });
    await j({ command: 'ban list', args: ['ban', 'list'], schema: 'ban', array: true });
    await j({ command: 'ban remove', args: ['ban', 'remove', String(ban.id)], schema: 'ban' });
    await j({ command: 'guard list', args: ['guard', 'list'], schema: 'guard' });
    await j({ command: 'guard clear', args: ['guard', 'clear', '--all'], schema: 'guard-clear' });
    await j({ command: 'guard allow', args: ['guard', 'allow', '198.51.100.0/24', '--note', 'restreamer'], schema: 'guard-allow' });

    await j({ command: 'token secret', args: ['token', 'secret'], schema: 'token-key' });
    expect((await j({ command: 'token secret', args: ['token', 'secret', '--show'], schema: 'token-key' })).secret).toMatch(/./);
    const pem = join(tempDir(), 'site.pem');
    writeFileSync(pem, generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }));
    const publicKey = await j({ command: 'token key add', args: ['token', 'key', 'add', pem], schema: 'token-key' });
    await j({ command: 'token list', args: ['token', 'list'], schema: 'token-key', array: true });
    await j({ command: 'token key remove', args: ['token', 'key', 'remove', String(publicKey.id)], schema: 'token-key' });
    const issued = await j({ command: 'token issue', args: ['token', 'issue', 'alice', '--viewer', 'viewer-2'], schema: 'token' });
    await j({ command: 'token revoke', args: ['token', 'revoke', String(issued.jti)], schema: 'token-revoke' });
    await j({ command: 'sessions expire', args: ['sessions', 'expire'], schema: 'sessions-expire' });
    // A paid channel without a token: a refusal is an answer, exit 1.
    expect(
      (await j({ command: 'access explain', args: ['access', 'explain', 'alice'], schema: 'access-decision', status: 1 })).decision,
    ).toBe('refuse');
    expect(
      (await j({ command: 'access explain', args: ['access', 'explain', 'bob', '--ip', '192.0.2.1'], schema: 'access-decision' })).decision,
    ).toBe('admit');

    // Live state from real STREAM_BUFFER runs, a recording from a real RECORDING_END.
    const health = fixture('01-basic-push-alice/STREAM_BUFFER-1').split('\n')[2]!;
    const now = Math.floor(Date.now() / 1000);
    await runInProcess({
      trigger: 'STREAM_BUFFER',
      payload: `streams+alice\nFULL\n${health}`,
      db,
      env: { MIST_TIME: String(now - 60), MIST_TUUID: 'json-1' },
    });
    expect(await j({ command: 'status', args: ['status'], schema: 'status', array: true })).toHaveLength(1);
    expect((await j({ command: 'status', args: ['status', 'alice'], schema: 'status' })).health).not.toBeNull();
    await j({ command: 'broadcasts', args: ['broadcasts', 'alice'], schema: 'broadcast', array: true });
    // MistServer no longer has the stream: reconcile closes the broadcast.
    const none = await startFakeMist();
    expect(
      (await run(db, { command: 'status', args: ['status', '--reconcile', '--api', none.url], schema: 'reconcile' })).closed,
    ).toHaveLength(1);
    await j({ command: 'broadcasts', args: ['broadcasts', 'alice'], schema: 'broadcast', array: true });

    const file = join(root, String(added.id), 'a.mkv');
    mkdirSync(join(root, String(added.id)));
    writeFileSync(file, Buffer.alloc(1024, 7));
    const end = ['streams+alice', file, 'EBML', 1024, 20, now - 40, now - 20, 19643, 0, 19643, 'CLEAN_EOF', 'end of stream']
      .map((l) => `${l}\n`)
      .join('');
    expect((await runInProcess({ trigger: 'RECORDING_END', payload: end, db })).stdout).toBe('');
    const [rec] = await j({ command: 'recordings list', args: ['recordings', 'list'], schema: 'recording', array: true });
    expect(rec.stream).toBe(`vod+${rec.id}`);
    await j({ command: 'recordings show', args: ['recordings', 'show', rec.id], schema: 'recording' });
    await j({ command: 'recordings pin', args: ['recordings', 'pin', rec.id], schema: 'recording' });
    await j({ command: 'recordings unpin', args: ['recordings', 'unpin', rec.id], schema: 'recording' });
    await j({ command: 'recordings scan', args: ['recordings', 'scan'], schema: 'recordings-scan' });
    // bob's own retention wins over --older-than: the dry run lists it (and alice's recording).
    await j({ command: 'channel set', args: ['channel', 'set', 'bob', '--retention', '30d'], schema: 'channel' });
    const pruneDry = await j({
      command: 'recordings prune',
      args: ['recordings', 'prune', '--older-than', '1s', '--dry-run'],
      schema: 'recordings-prune',
    });
    expect(pruneDry.items).toHaveLength(1);
    expect(pruneDry.retention_overrides).toEqual([{ channel: 'bob', retention: '30d', retention_ms: 30 * 86_400_000 }]);
    await j({ command: 'recordings prune', args: ['recordings', 'prune', '--older-than', '3650d'], schema: 'recordings-prune' });
    expect((await j({ command: 'recordings delete', args: ['recordings', 'delete', rec.id], schema: 'recording' })).result).toBe('deleted');

    await j({ command: 'hook set', args: ['hook', 'set', 'live', '/bin/true'], schema: 'hook' });
    await j({ command: 'hook list', args: ['hook', 'list'], schema: 'hook', array: true });
    await j({ command: 'hook unset', args: ['hook', 'unset', 'live'], schema: 'hook' });

    // Webhooks to a local receiver: the secret only in add's output.
    const receiver = await startReceiver();
    try {
      const hook = await j({
        command: 'webhook add',
        args: ['webhook', 'add', receiver.url, '--events', 'stream.live,recording.ready'],
        schema: 'webhook',
      });
      expect(hook.secret).toMatch(/^whsec_/);
      const listed = await j({ command: 'webhook list', args: ['webhook', 'list'], schema: 'webhook', array: true });
      expect(listed[0].secret).toBeUndefined();
      const sent = await j({ command: 'webhook test', args: ['webhook', 'test', String(hook.id)], schema: 'webhook-delivery' });
      await j({ command: 'webhook replay', args: ['webhook', 'replay', sent.event_id], schema: 'webhook-replay' });
      expect(
        (await j({ command: 'webhook deliveries', args: ['webhook', 'deliveries'], schema: 'webhook-delivery', array: true }))[0].attempt,
      ).toBe(0);
      expect((await j({ command: 'webhook deliver', args: ['webhook', 'deliver', '--once'], schema: 'webhook-deliver' })).delivered).toBe(
        1,
      );
      await j({ command: 'webhook enable', args: ['webhook', 'enable', String(hook.id)], schema: 'webhook' });
      await j({ command: 'webhook remove', args: ['webhook', 'remove', String(hook.id)], schema: 'webhook' });
    } finally {
      await receiver.close();
    }
    // A failed trigger run is a trigger/error event (streamctl metrics counts them), recorded as the
    // runner records it (that it does: test/process/programs.test.ts).
    const handle = openForCli(db);
    recordEvent(handle, { at: Date.now(), kind: 'trigger', outcome: 'error', reason: 'malformed USER_NEW payload', detail: 'USER_NEW' });
    handle.close();
    expect(await j({ command: 'events', args: ['events', '--kind', 'trigger'], schema: 'event', array: true })).toMatchObject([
      { kind: 'trigger', outcome: 'error', detail: 'USER_NEW' },
    ]);
    await j({ command: 'events', args: ['events'], schema: 'event', array: true });
    await j({ command: 'events prune', args: ['events', 'prune', '--older-than', '90d'], schema: 'events-prune' });
    await j({ command: 'triggers', args: ['triggers'], schema: 'trigger', array: true });

    // Pending changes make --dry-run answer no (exit 1); applying them exits 0.
    const dry = await run(db, {
      command: 'mist apply',
      args: ['mist', 'apply', '--api', mist.url, '--dry-run'],
      schema: 'mist-apply',
      status: 1,
    });
    expect(dry.pending).toBeGreaterThan(0);
    expect((await run(db, { command: 'mist apply', args: ['mist', 'apply', '--api', mist.url], schema: 'mist-apply' })).applied).toBe(
      dry.pending,
    );
    expect(
      (await run(db, { command: 'mist apply', args: ['mist', 'apply', '--api', mist.url, '--dry-run'], schema: 'mist-apply' })).pending,
    ).toBe(0);
    const doctor = await cli(db, ['doctor', '--api', mist.url, '--json']);
    await run(db, { command: 'doctor', args: ['doctor', '--api', mist.url], schema: 'doctor', status: doctor.status ?? 0 });
    // MistServer unreachable: the checks it would answer are one "skipped" warning, in the same shape.
    await none.close();
    const unreachable = await run(db, { command: 'doctor', args: ['doctor', '--api', none.url], schema: 'doctor', status: 1 });
    expect(unreachable.checks.find((c: { check: string }) => c.check === 'mistserver config').message).toMatch(/check\(s\) skipped/);

    // Replication: against a real Redis when installed, else the error each command gives without one.
    const redis = REDIS_SERVER ? await startRedis() : undefined;
    try {
      // redis-server creates its socket file a moment before it listens: wait for an answer.
      for (let tries = 0; redis && tries < 250; tries++) {
        const c = await connectRedis(redis.socket).catch(() => undefined);
        const pong = await c?.call('PING').catch(() => undefined);
        c?.close();
        if (pong === 'PONG') break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const target = ['--redis', redis?.socket ?? join(tempDir(), 'no-redis.sock')];
      const needsRedis = (schema: string) => (redis ? { schema } : { schema: 'error', status: 1 });
      const resynced = await j({ command: 'edge resync', args: ['edge', 'resync', ...target], ...needsRedis('edge-resync') });
      if (redis) expect(resynced.replication_turned_on).toBe(true);
      await j({ command: 'edge relay', args: ['edge', 'relay', '--once', ...target], ...needsRedis('edge-relay') });
      expect((await j({ command: 'edge status', args: ['edge', 'status', ...target], schema: 'edge-status' })).redis.reachable).toBe(
        redis !== undefined,
      );
      await j({ command: 'edge check', args: ['edge', 'check', ...target], ...needsRedis('edge-check') });
      // An edge's watcher, here against the same Redis as its "replica" and a stand-in MistServer.
      const edgeMist = await startFakeMist({ activeStreams: ['streams+alice'] });
      await j({
        command: 'edge watch',
        args: ['edge', 'watch', '--once', '--replica', target[1]!, '--api', edgeMist.url],
        ...needsRedis('edge-watch'),
      });
    } finally {
      await redis?.stop();
    }

    await j({ command: 'user remove', args: ['user', 'remove', 'bob', '--yes'], schema: 'user' });

    expect(leafCommands().filter((c) => !covered.has(c) && !(c in NOT_JSON))).toEqual([]);
  }, 120_000);

  it('a failure with --json is an error object on stdout, with the exit code', async () => {
    const db = freshDb();
    const missing = await run(db, { command: 'user show', args: ['user', 'show', 'nobody'], schema: 'error', status: 1 });
    expect(missing).toEqual({ error: `no user named "nobody" (see 'streamctl user list')`, exit_code: 1 });
    expect(
      (await run(db, { command: 'broadcasts', args: ['broadcasts', 'x', '--limit', '0'], schema: 'error', status: 2 })).exit_code,
    ).toBe(2);
    expect((await run(db, { command: 'events', args: ['events', '--kind', 'bogus'], schema: 'error', status: 2 })).error).toMatch(/--kind/);
  });
});
