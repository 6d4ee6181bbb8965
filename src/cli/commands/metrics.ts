// `streamctl metrics`: the Prometheus text exposition format, for node_exporter's textfile
// collector (a timer or cron writes it to <collector dir>/streamctl.prom every minute).
import { Command } from 'commander';
import { chmodSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { GUARD_REFUSAL } from '../../ingest/admit-push';
import { RECONNECT_GRACE_REFUSAL, SECOND_PUSH_REFUSAL, TAKEOVER_REFUSAL } from '../../ingest/second-push';
import { formatDuration, parseDuration } from '../../lib/duration';
import { oneLine, UserError } from '../../lib/errors';
import { renderExposition, type Family } from '../../lib/prometheus';
import { readMetrics } from '../../store/metrics';
import { durationMs, getSettings } from '../../store/settings';
import { webhookStats } from '../../store/webhooks';
import type { CliContext } from '../context';

export function metricsCommand(ctx: CliContext): Command {
  return new Command('metrics')
    .description("print metrics in Prometheus' text format (for node_exporter's textfile collector)")
    .option('--window <duration>', 'what the event figures (pushes, guard blocks, trigger errors) count back over', '5m')
    .option('-o, --output <file>', 'write to this file atomically (temp file + rename) instead of stdout')
    .action((opts: { window: string; output?: string }) => {
      const windowMs = parseDuration(opts.window);
      if (windowMs === null || windowMs === 0) throw new UserError(`invalid --window "${opts.window}": expected a duration such as 5m`);
      const text = renderExposition(families(ctx, windowMs));
      if (!opts.output) return ctx.out(text);
      // The collector may read at any moment: it must never see half a file.
      const tmp = `${opts.output}.${process.pid}.tmp`;
      try {
        writeFileSync(tmp, text, { mode: 0o644 });
        chmodSync(tmp, 0o644); // node_exporter runs as its own user
        renameSync(tmp, opts.output);
      } catch (err) {
        rmSync(tmp, { force: true });
        throw new UserError(`cannot write ${opts.output}: ${oneLine(err)}`);
      }
    });
}

function families(ctx: CliContext, windowMs: number): Family[] {
  const db = ctx.db();
  const now = ctx.now();
  const s = getSettings(db, ['viewer-session-stale', 'push-guard-window', 'push-guard-failures']);
  const m = readMetrics(db, {
    now,
    since: now - windowMs,
    staleBefore: now - durationMs('viewer-session-stale', s['viewer-session-stale']),
    guardReason: GUARD_REFUSAL,
    guardWindowStart: now - durationMs('push-guard-window', s['push-guard-window']),
    guardFailures: Number(s['push-guard-failures']),
    secondPushReason: SECOND_PUSH_REFUSAL,
    graceReasonPrefix: RECONNECT_GRACE_REFUSAL,
    takeoverReasonPrefix: `${TAKEOVER_REFUSAL}:`,
  });
  const win = `in the last ${formatDuration(windowMs)}`;
  const w = webhookStats(db, now - windowMs);
  return [
    { name: 'streamctl_channels_live', type: 'gauge', help: 'Channels with an open broadcast.', samples: [{ value: m.channelsLive }] },
    {
      name: 'streamctl_viewers',
      type: 'gauge',
      help: 'Open viewer sessions streamctl recorded (USER_NEW without USER_END yet, not stale), per channel.',
      samples: m.viewers.map((v) => ({ labels: { channel: v.channel }, value: v.viewers })),
    },
    {
      name: 'streamctl_viewers_total_open',
      type: 'gauge',
      help: 'Open viewer sessions streamctl recorded, all channels.',
      samples: [{ value: m.viewers.reduce((a, v) => a + v.viewers, 0) }],
    },
    {
      name: 'streamctl_push_attempts',
      type: 'gauge',
      help: `Push attempts (PUSH_REWRITE), by outcome, ${win}.`,
      samples: Object.entries(m.pushes).map(([outcome, n]) => ({ labels: { outcome }, value: n })),
    },
    {
      name: 'streamctl_guard_blocks',
      type: 'gauge',
      help: `Pushes the brute-force guard refused without a key lookup, ${win}.`,
      samples: [{ value: m.guardBlocks }],
    },
    {
      name: 'streamctl_guard_blocked_sources',
      type: 'gauge',
      help: 'Addresses (IPv4) or /64s (IPv6) over the push failure limit now.',
      samples: [{ value: m.guardBlockedSources }],
    },
    {
      name: 'streamctl_second_pushes',
      type: 'gauge',
      help: `A channel's second-push policy at work, ${win}: pushes refused while the channel was live (refused), refused in the reconnect grace (grace_refused), takeovers refused because the live encoder could not be stopped (takeover_refused), live encoders a takeover stopped (encoder_stopped).`,
      samples: Object.entries(m.secondPushes).map(([decision, n]) => ({ labels: { decision }, value: n })),
    },
    { name: 'streamctl_recordings', type: 'gauge', help: 'Recordings in the catalogue.', samples: [{ value: m.recordings }] },
    {
      name: 'streamctl_recordings_bytes',
      type: 'gauge',
      help: 'Total size of the catalogued recordings, in bytes.',
      samples: [{ value: m.recordingBytes }],
    },
    {
      name: 'streamctl_trigger_errors',
      type: 'gauge',
      help: `Trigger runs that answered their refusal because of an error (recorded when the database could be written), by trigger, ${win}.`,
      samples: m.triggerErrors.map((e) => ({ labels: { trigger: e.trigger }, value: e.errors })),
    },
    {
      name: 'streamctl_webhook_endpoints',
      type: 'gauge',
      help: 'Webhook endpoints, by state (disabled: it answered 410 Gone).',
      samples: [
        { labels: { state: 'enabled' }, value: w.endpoints - w.endpointsDisabled },
        { labels: { state: 'disabled' }, value: w.endpointsDisabled },
      ],
    },
    {
      name: 'streamctl_webhook_pending',
      type: 'gauge',
      help: 'Webhook deliveries not yet delivered (due, or waiting for a retry).',
      samples: [{ value: w.pending }],
    },
    {
      name: 'streamctl_webhook_oldest_pending_age_seconds',
      type: 'gauge',
      help: 'Age of the oldest event with a delivery still pending (0 when none): how far behind the site is.',
      samples: [{ value: w.oldestPendingAt === null ? 0 : Math.max(0, Math.round((now - w.oldestPendingAt) / 1000)) }],
    },
    {
      name: 'streamctl_webhook_deliveries',
      type: 'gauge',
      help: `Webhook deliveries finished, by outcome (failed: no 2xx by the last retry), ${win}.`,
      samples: [
        { labels: { outcome: 'delivered' }, value: w.finished.delivered },
        { labels: { outcome: 'failed' }, value: w.finished.failed },
      ],
    },
    {
      name: 'streamctl_webhook_failed_attempts',
      type: 'gauge',
      help: `Webhook attempts without a 2xx (error, timeout or status), ${win}.`,
      samples: [{ value: w.failedAttempts }],
    },
    {
      name: 'streamctl_sessions_token_expired',
      type: 'gauge',
      help: 'Open viewer sessions whose playback token has expired (sessions expire has MistServer re-check them).',
      samples: [{ value: m.sessionsTokenExpired }],
    },
    {
      name: 'streamctl_sessions_stopped',
      type: 'gauge',
      help: 'Open viewer sessions streamctl stopped (evicted under viewer-sessions, or token revoked), until their USER_END.',
      samples: [{ value: m.sessionsStopped }],
    },
    {
      name: 'streamctl_ticket_refusals',
      type: 'gauge',
      help: `Viewers refused by viewer-sessions, a revoked token or a token that expired during the session, by rule, ${win}.`,
      samples: Object.entries(m.ticketRefusals).map(([rule, n]) => ({ labels: { rule }, value: n })),
    },
    {
      name: 'streamctl_viewer_sessions_evicted',
      type: 'gauge',
      help: `Sessions stopped for a newer session of the same viewer (viewer-sessions, evict-oldest), ${win}.`,
      samples: [{ value: m.evictions }],
    },
    {
      name: 'streamctl_tokens_revoked',
      type: 'gauge',
      help: 'Revoked token ids still kept (until their token expires).',
      samples: [{ value: m.revokedTokens }],
    },
    {
      name: 'streamctl_metrics_window_seconds',
      type: 'gauge',
      help: 'The window the event figures count back over.',
      samples: [{ value: windowMs / 1000 }],
    },
    {
      name: 'streamctl_metrics_generated_seconds',
      type: 'gauge',
      help: 'When these metrics were computed (unix time).',
      samples: [{ value: Math.floor(now / 1000) }],
    },
  ];
}
