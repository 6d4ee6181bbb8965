// `streamctl edge ...`: replication to the edges (docs/deployment.md): on the origin, the
// relay that publishes queued changes to the Redis primary, a full resync, and checks; on an edge,
// the watcher that keeps its MistServer's `open` tags in step with its replica.
import { Command } from 'commander';
import { redisPassword, redisPrimary, redisReplica } from '../../config';
import { runTagWatch } from '../../edge/tag-watch';
import { connectRedis } from '../../lib/resp';
import { mistCall } from '../../mist/api';
import { mistConnection } from '../../mist/connection';
import { untagSettle } from '../../mist/stream-tags';
import { UserError } from '../../lib/errors';
import { checkReplication, openPrimary, openPrimaryForResync, replicationStatus } from '../../replica/check';
import { readSessionEnd } from '../../replica/ends';
import { resync, runRelay, type Published } from '../../replica/relay';
import type { Db } from '../../store/open';
import { liveChannels } from '../../store/broadcasts';
import { getSetting, putSetting } from '../../store/settings';
import type { CliContext } from '../context';
import { isoTime } from '../format';
import { applyEdgeEffects, EdgeRetryQueue, retryEdgeEffects, stopSessionsEverywhere } from '../../live/edge-session-effects';
import { storeSessionEnd } from '../../live/session-end';

/** A relay batch (at most 500 entities) is answered in milliseconds: a stopped Redis is noticed within this. */
const PUBLISH_TIMEOUT_MS = 5000;

/** A resync is one MULTI over everything: 200,000 keys took ~10 s on a loaded 2-core machine. */
const RESYNC_TIMEOUT_MS = 300_000;

/** How often the running relay sends an edge the re-checks it did not take. */
const EDGE_RETRY_MS = 5000;

/** The edge's own MistServer (loopback) answers in milliseconds; a stuck one must not stall the watcher. */
const WATCH_API_TIMEOUT_MS = 3000;

/** The local replica, over its socket. */
const WATCH_REDIS_TIMEOUT_MS = 2000;

interface RedisOpts {
  redis?: string;
}

/** --redis, else STREAMCTL_REDIS_PRIMARY / redis_primary=; the password from redis_password_file=. */
function primary(ctx: CliContext, opts: RedisOpts): { target: string; password?: string } {
  const target = opts.redis ?? redisPrimary();
  if (!target)
    throw new UserError(
      'no Redis primary configured: set redis_primary= in streamctl.conf (or STREAMCTL_REDIS_PRIMARY, or give --redis <host:port|socket>)',
    );
  if (!target.startsWith('/') && !/^[^\s/]+:\d{1,5}$/.test(target))
    throw new UserError(`invalid Redis target "${target.slice(0, 80)}": expected host:port or a unix socket path`);
  const pw = redisPassword();
  if (pw.problem) ctx.err(`streamctl: ${pw.problem}\n`);
  return { target, ...(pw.password !== undefined ? { password: pw.password } : {}) };
}

/**
 * Stores the edges' session ends as the one-box USER_END does (live/session-end.ts: deduplicated by event id
 * and session, so a replay after a crash stores nothing twice). A malformed entry is skipped with a
 * line (it would block the list for ever); a failed write throws and leaves the batch in Redis.
 */
function sessionEndStore(db: Db, log: (line: string) => void): (entries: string[]) => void {
  return (entries) => {
    let malformed = 0;
    for (const text of entries) {
      const end = readSessionEnd(text);
      if (!end) {
        malformed++;
        continue;
      }
      const { time, eventId, ...totals } = end;
      storeSessionEnd(db, totals, time, eventId);
    }
    if (malformed > 0) log(`skipped ${malformed} malformed session end(s) from the edges`);
  };
}

const redisOption = [
  '--redis <target>',
  "the Redis primary: host:port or a unix socket path (default: streamctl.conf's redis_primary=)",
] as const;

export function edgeCommand(ctx: CliContext): Command {
  const cmd = new Command('edge').description(
    "replicate admission data to the edges through Redis (the origin's relay and checks; an edge's tag watcher)",
  );

  cmd
    .command('relay')
    .description('publish queued changes to Redis (every ~100 ms) until stopped; re-check affected viewers on the edges')
    .option('--once', 'publish what is queued, then exit (exit 1 if Redis cannot take it)')
    .option(...redisOption)
    .option('--json', 'print the totals as JSON when it ends')
    .action(async (opts: RedisOpts & { once?: boolean; json?: boolean }) => {
      const db = ctx.db();
      const { target, password } = primary(ctx, opts);
      if (getSetting(db, 'replication') !== 'redis')
        ctx.err("streamctl: replication is off, so nothing is queued; 'streamctl edge resync' turns it on\n");
      const log = (line: string) => ctx.err(`streamctl relay: ${line}\n`);
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
      // Edge re-checks run one round after another, off the publishing path: a slow edge delays
      // only the re-checks, never what reaches Redis.
      let effects: Promise<void> = Promise.resolve();
      // An edge that did not take a re-check gets it again (merged with later ones) every few
      // seconds while the relay runs; --once logs it and leaves the edge to its own watcher.
      const queue = opts.once ? undefined : new EdgeRetryQueue();
      const published = (p: Published) => {
        if (p.effects.length === 0) return;
        effects = effects
          .then(() => applyEdgeEffects(db, p.effects, ctx.now(), log, queue))
          .catch((err) => log(`edge re-check failed: ${String(err)}`));
      };
      const retrying = setInterval(() => {
        if (!queue || queue.edges === 0) return;
        effects = effects
          .then(() => retryEdgeEffects(db, queue, ctx.now(), log))
          .catch((err) => log(`edge re-check failed: ${String(err)}`));
      }, EDGE_RETRY_MS);
      try {
        const totals = await runRelay({
          db,
          connect: () => openPrimary(target, password, PUBLISH_TIMEOUT_MS),
          connectForResync: () => openPrimaryForResync(target, password, RESYNC_TIMEOUT_MS),
          now: () => ctx.now(),
          liveChannels: () => liveChannels(db).map((c) => c.userName),
          log,
          published,
          storeEnds: sessionEndStore(db, log),
          stopSessions: (ids) => stopSessionsEverywhere(db, ids, log),
          signal: stop.signal,
          once: opts.once === true,
        });
        await effects;
        if (opts.json)
          ctx.json({
            redis: target,
            batches: totals.batches,
            rows: totals.rows,
            entities: totals.entities,
            session_ends: totals.ends,
            failures: totals.failures,
          });
        else if (opts.once)
          ctx.out(
            `published ${totals.entities} change(s) from ${totals.rows} outbox row(s); stored ${totals.ends} session end(s) from the edges\n`,
          );
        else log(`stopped: published ${totals.entities} change(s) from ${totals.rows} outbox row(s), stored ${totals.ends} session end(s)`);
      } catch (err) {
        await effects;
        throw new UserError(
          `could not publish to Redis ${target}: ${err instanceof Error ? err.message : String(err)} (the changes stay queued)`,
        );
      } finally {
        clearInterval(retrying);
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      }
    });

  cmd
    .command('resync')
    .description('rewrite everything under sc: in Redis from the database (idempotent); turns replication on')
    .option(...redisOption)
    .option('--json', 'print JSON')
    .action(async (opts: RedisOpts & { json?: boolean }) => {
      const db = ctx.db();
      const { target, password } = primary(ctx, opts);
      const client = await openPrimaryForResync(target, password, RESYNC_TIMEOUT_MS).catch((err: Error) => {
        throw new UserError(`cannot reach the Redis primary: ${err.message}`);
      });
      try {
        // On first: changes from now on are queued; the resync below covers everything before.
        const turnedOn = getSetting(db, 'replication') !== 'redis';
        if (turnedOn) putSetting(db, 'replication', 'redis');
        const r = await resync(db, client, () => ctx.now()).catch((err: Error) => {
          throw new UserError(`resync failed: ${err.message}`);
        });
        if (opts.json) {
          return ctx.json({
            redis: target,
            replication_turned_on: turnedOn,
            written: r.written,
            deleted: r.deleted,
            outbox_rows: r.rows,
            outbox_id: r.lastId,
            keys: r.byKind,
            synced_at: isoTime(r.syncedAt),
          });
        }
        if (turnedOn)
          ctx.out(
            'replication was off: turned on (setting replication=redis); run `streamctl edge relay` to publish changes from now on\n',
          );
        const kinds = Object.entries(r.byKind)
          .map(([k, n]) => `${n} ${k}`)
          .join(', ');
        ctx.out(
          `resynced ${target}: wrote ${r.written} key(s) (${kinds}), deleted ${r.deleted} stale key(s), covered ${r.rows} queued change(s)\n`,
        );
      } finally {
        client.close();
      }
    });

  cmd
    .command('status')
    .description('replication state: queued changes, oldest age, whether Redis answers, its sc:meta')
    .option(...redisOption)
    .option('--json', 'print JSON')
    .action(async (opts: RedisOpts & { json?: boolean }) => {
      const db = ctx.db();
      const { target, password } = primary(ctx, opts);
      const s = await replicationStatus(db, target, password);
      const now = ctx.now();
      const age = s.outbox.oldestAt === null ? null : Math.max(0, now - s.outbox.oldestAt);
      const meta =
        s.meta === null
          ? null
          : {
              synced_at: s.meta.synced_at ? isoTime(Number(s.meta.synced_at)) : null,
              outbox_id: s.meta.outbox ? Number(s.meta.outbox) : null,
            };
      if (opts.json) {
        return ctx.json({
          replication: s.replication,
          redis: s.redis,
          outbox: { pending: s.outbox.pending, oldest_at: isoTime(s.outbox.oldestAt), oldest_age_ms: age, last_id: s.outbox.lastId },
          meta,
          edges: getSetting(db, 'edges')
            .split(',')
            .map((u) => u.trim())
            .filter(Boolean),
        });
      }
      ctx.out(`replication: ${s.replication}\n`);
      ctx.out(`redis:       ${target} ${s.redis.reachable ? 'reachable' : `UNREACHABLE (${s.redis.error})`}\n`);
      ctx.out(`outbox:      ${s.outbox.pending} queued${age === null ? '' : `, oldest ${age} ms ago`}, last id ${s.outbox.lastId}\n`);
      if (meta) ctx.out(`sc:meta:     last resync ${meta.synced_at ?? 'never'}, last published id ${meta.outbox_id ?? 'none'}\n`);
    });

  cmd
    .command('check')
    .description('compare Redis with the database (counts, digests, differing keys); exit 1 on a difference')
    .option(...redisOption)
    .option('--json', 'print JSON')
    .action(async (opts: RedisOpts & { json?: boolean }) => {
      const db = ctx.db();
      const { target, password } = primary(ctx, opts);
      const c = await checkReplication(db, target, password, ctx.now());
      if (!c.comparison) throw new UserError(c.message);
      const cmp = c.comparison;
      if (opts.json) {
        ctx.json({
          redis: target,
          same: cmp.same,
          pending: c.pending,
          sqlite: cmp.sqlite,
          redis_copy: cmp.redis,
          differences: cmp.differences,
          difference_count: cmp.differenceCount,
        });
      } else {
        ctx.out(`${cmp.same ? 'same' : 'DIFFERENT'}: ${c.message}\n`);
        for (const d of cmp.differences) ctx.out(`  ${d.key}: ${d.problem}\n`);
        if (cmp.differenceCount > cmp.differences.length) ctx.out(`  ... and ${cmp.differenceCount - cmp.differences.length} more\n`);
        if (!cmp.same && c.fix) ctx.out(`fix: ${c.fix}\n`);
      }
      if (!cmp.same) ctx.answerNo();
    });

  cmd
    .command('watch')
    .description(
      "on an edge: keep this MistServer's open tags in step with the Redis replica until stopped (untag and re-check a channel no longer open)",
    )
    .option('--once', 'compare every live stream once, then exit (exit 1 if the replica or MistServer cannot answer)')
    .option('--api <url>', "this edge's MistServer API (default: the mist-api setting, else loopback)")
    .option('--replica <socket>', "the Redis replica's unix socket (default: streamctl.conf's redis_replica=)")
    .option('--json', 'print the totals as JSON when it ends')
    .action(async (opts: { once?: boolean; api?: string; replica?: string; json?: boolean }) => {
      const db = ctx.db();
      const target = opts.replica ?? redisReplica();
      if (!target)
        throw new UserError(
          'no Redis replica configured: set redis_replica= in streamctl.conf (install.sh ROLE=edge writes it), or STREAMCTL_REDIS_REPLICA, or give --replica <socket>',
        );
      const pw = redisPassword();
      if (pw.problem) ctx.err(`streamctl: ${pw.problem}\n`);
      const conn = { ...mistConnection(db, { api: opts.api }, (line) => ctx.err(`streamctl: ${line}\n`)), timeoutMs: WATCH_API_TIMEOUT_MS };
      const log = (line: string) => ctx.err(`streamctl watch: ${line}\n`);
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
      try {
        const totals = await runTagWatch({
          replica: () =>
            connectRedis(target, { timeoutMs: WATCH_REDIS_TIMEOUT_MS, ...(pw.password !== undefined ? { password: pw.password } : {}) }),
          mist: (body) => mistCall(conn, body),
          now: () => ctx.now(),
          log,
          settle: () => new Promise((r) => setTimeout(r, untagSettle.ms)),
          signal: stop.signal,
          once: opts.once === true,
        });
        if (opts.json)
          ctx.json({ replica: target, passes: totals.passes, tagged: totals.tagged, untagged: totals.untagged, failures: totals.failures });
        else if (opts.once) ctx.out(`compared the live streams with the replica: tagged ${totals.tagged}, untagged ${totals.untagged}\n`);
        else log(`stopped: tagged ${totals.tagged}, untagged ${totals.untagged} in ${totals.passes} pass(es)`);
      } catch (err) {
        throw new UserError(`could not compare the tags with the replica ${target}: ${err instanceof Error ? err.message : String(err)}`);
      } finally {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      }
    });

  return cmd;
}
