// `streamctl channel ...`: per-channel policy (who may watch, viewer cap, recording, replay).
import { Command } from 'commander';
import { formatDuration, parseDuration } from '../../lib/duration';
import { UsageError, UserError } from '../../lib/errors';
import {
  ACCESS_POLICIES,
  getChannel,
  ON_EXCESS,
  SECOND_PUSH_POLICIES,
  updateChannel,
  type AccessPolicy,
  type Channel,
  type ChannelPatch,
  type OnExcess,
  type SecondPushPolicy,
} from '../../store/channels';
import type { CliContext } from '../context';
import { recordAdmin } from '../admin-events';
import { channelJson } from '../shapes';
import { applyLiveEffects, applyRecordTag } from '../../live/session-effects';
import { requireUser } from '../resolve';

function onOff(flag: string, value: string): boolean {
  if (value === 'on') return true;
  if (value === 'off') return false;
  throw new UsageError(`invalid ${flag} "${value}": expected on or off`);
}

export interface ChannelSetOptions {
  access?: string;
  minAge?: string;
  viewerCap?: string;
  viewerSessions?: string;
  onExcess?: string;
  record?: string;
  retention?: string;
  replayOffline?: string;
  secondPush?: string;
  reconnectGrace?: string;
  json?: boolean;
}

/** Turns `channel set` flags into a patch, naming the first bad flag. */
export function channelPatchFromOptions(opts: ChannelSetOptions): ChannelPatch {
  const patch: ChannelPatch = {};
  if (opts.access !== undefined) {
    if (!(ACCESS_POLICIES as readonly string[]).includes(opts.access)) {
      throw new UsageError(`invalid --access "${opts.access}": expected one of ${ACCESS_POLICIES.join(', ')}`);
    }
    patch.access = opts.access as AccessPolicy;
  }
  if (opts.minAge !== undefined) {
    if (!/^\d{1,2}$/.test(opts.minAge) || Number(opts.minAge) < 1)
      throw new UsageError(`invalid --min-age "${opts.minAge}": expected 1 to 99`);
    patch.minAge = Number(opts.minAge);
  }
  if (opts.viewerCap !== undefined) {
    if (opts.viewerCap === 'none') patch.viewerCap = null;
    else if (/^\d{1,9}$/.test(opts.viewerCap)) patch.viewerCap = Number(opts.viewerCap);
    else throw new UsageError(`invalid --viewer-cap "${opts.viewerCap}": expected a number or none`);
  }
  if (opts.viewerSessions !== undefined) {
    if (opts.viewerSessions === 'none') patch.viewerSessions = null;
    else if (/^[1-9]\d{0,8}$/.test(opts.viewerSessions)) patch.viewerSessions = Number(opts.viewerSessions);
    else
      throw new UsageError(
        `invalid --viewer-sessions "${opts.viewerSessions}": expected a whole number above 0, or none (the global setting viewer-sessions)`,
      );
  }
  if (opts.onExcess !== undefined) {
    if (!(ON_EXCESS as readonly string[]).includes(opts.onExcess))
      throw new UsageError(`invalid --on-excess "${opts.onExcess}": expected one of ${ON_EXCESS.join(', ')}`);
    patch.onExcess = opts.onExcess as OnExcess;
  }
  if (opts.record !== undefined) patch.record = onOff('--record', opts.record);
  if (opts.retention !== undefined) {
    if (opts.retention === 'default') patch.retentionMs = null;
    else {
      const ms = parseDuration(opts.retention);
      if (ms === null || ms === 0)
        throw new UsageError(`invalid --retention "${opts.retention}": expected a duration such as 30d, or default`);
      patch.retentionMs = ms;
    }
  }
  if (opts.replayOffline !== undefined) patch.replayOffline = onOff('--replay-offline', opts.replayOffline);
  if (opts.secondPush !== undefined) {
    if (!(SECOND_PUSH_POLICIES as readonly string[]).includes(opts.secondPush)) {
      throw new UsageError(`invalid --second-push "${opts.secondPush}": expected one of ${SECOND_PUSH_POLICIES.join(', ')}`);
    }
    patch.secondPush = opts.secondPush as SecondPushPolicy;
  }
  if (opts.reconnectGrace !== undefined) {
    const ms = opts.reconnectGrace.trim() === '0' ? 0 : parseDuration(opts.reconnectGrace);
    if (ms === null)
      throw new UsageError(`invalid --reconnect-grace "${opts.reconnectGrace}": expected a duration such as 30s or 2m, or 0`);
    patch.reconnectGraceMs = ms;
  }
  return patch;
}

export function channelCommand(ctx: CliContext): Command {
  const cmd = new Command('channel').description("a user's channel: who may watch, recording, replay, a second encoder");

  cmd
    .command('set <user>')
    .description('change channel settings (only the flags given change)')
    .option('--access <policy>', `who may watch: ${ACCESS_POLICIES.join(', ')}`)
    .option('--min-age <years>', 'minimum age for --access age (default 18)')
    .option('--viewer-cap <n>', 'most concurrent viewer sessions, or none')
    .option(
      '--viewer-sessions <n>',
      "most concurrent sessions per viewer id (a token's sub), or none for the global setting viewer-sessions",
    )
    .option(
      '--on-excess <what>',
      `the viewer's next session past --viewer-sessions: ${ON_EXCESS.join(' or ')} (stop the viewer's oldest session)`,
    )
    .option('--record <on|off>', 'record broadcasts')
    .option('--retention <duration>', 'keep recordings this long (e.g. 30d), or default for the global setting')
    .option('--replay-offline <on|off>', 'play the latest recording while the channel is offline')
    .option(
      '--second-push <policy>',
      `a push while the channel is live: refuse (keep the live encoder, the default) or takeover (stop it, take the newcomer)`,
    )
    .option('--reconnect-grace <duration>', 'after the live encoder dropped, only its key may publish for this long (e.g. 30s; default 0)')
    .option('--json', 'print the channel as JSON')
    .action(async (name: string, opts: ChannelSetOptions) => {
      const patch = channelPatchFromOptions(opts);
      if (Object.keys(patch).length === 0) throw new UsageError('nothing to change: give at least one option (see --help)');
      const db = ctx.db();
      const user = requireUser(db, name);
      // A missing row refuses every viewer; only --access writes it again (never a public default).
      const before = getChannel(db, user.id);
      if (patch.access === undefined && !before) throw new UserError(missingPolicy(user.name));
      const channel = updateChannel(db, user.id, patch, ctx.now());
      recordAdmin(ctx, { action: 'channel set', userId: user.id, reason: `${user.name}: ${channelFlags(opts)}` });
      if (opts.json) ctx.json(channelJson(user.name, channel));
      else ctx.out(describeChannel(user.name, channel));
      // Only a change to who may watch re-checks the viewers, and the reason names it.
      const reason = admissionChange(before, channel);
      if (reason) await applyLiveEffects(ctx, [{ kind: 'recheck-viewers', user: user.name, reason }]);
      if (patch.record !== undefined) await applyRecordTag(ctx, user.name, channel.record);
    });

  cmd
    .command('show <user>')
    .description('show channel settings')
    .option('--json', 'print JSON')
    .action((name: string, opts: { json?: boolean }) => {
      const db = ctx.db();
      const user = requireUser(db, name);
      const channel = getChannel(db, user.id);
      if (!channel) throw new UserError(missingPolicy(user.name));
      if (opts.json) return ctx.json(channelJson(user.name, channel));
      ctx.out(describeChannel(user.name, channel));
    });

  return cmd;
}

/** The flags given to channel set, as typed (for the admin event). */
function channelFlags(opts: ChannelSetOptions): string {
  const flags: [string, string | undefined][] = [
    ['--access', opts.access],
    ['--min-age', opts.minAge],
    ['--viewer-cap', opts.viewerCap],
    ['--viewer-sessions', opts.viewerSessions],
    ['--on-excess', opts.onExcess],
    ['--record', opts.record],
    ['--retention', opts.retention],
    ['--replay-offline', opts.replayOffline],
  ];
  return flags
    .filter(([, v]) => v !== undefined)
    .map(([f, v]) => `${f} ${v}`)
    .join(' ');
}

/** What changed about who may watch (access, minimum age, viewer cap), in words; '' when nothing did. */
export function admissionChange(before: Channel | undefined, after: Channel): string {
  const changes: string[] = [];
  if (before?.access !== after.access) changes.push(`access changed to ${after.access}`);
  if (after.access === 'age' && before?.minAge !== after.minAge) changes.push(`minimum age changed to ${after.minAge ?? 18}`);
  if (before?.viewerCap !== after.viewerCap) changes.push(`viewer cap changed to ${after.viewerCap ?? 'none'}`);
  if (before?.viewerSessions !== after.viewerSessions)
    changes.push(`viewer-sessions changed to ${after.viewerSessions ?? 'the global setting'}`);
  return changes.join(', ');
}

/** What a missing policy row means, and how an operator writes one. */
export function missingPolicy(user: string): string {
  return `${user}'s channel has no policy row (damaged database): every viewer is refused until one is written with 'streamctl channel set ${user} --access <policy>'`;
}

/** Human summary of a channel's settings. */
export function describeChannel(user: string, c: Channel): string {
  const access = c.access === 'age' ? `age (${c.minAge ?? 18}+)` : c.access;
  return (
    [
      `channel:         ${user}`,
      `access:          ${access}${c.access === 'password' && !c.passwordHash ? ' (no password set yet: nobody gets in)' : ''}`,
      `viewer cap:      ${c.viewerCap ?? 'none'}`,
      `viewer sessions: ${c.viewerSessions === null ? 'global setting (viewer-sessions)' : `${c.viewerSessions} per viewer`}, then ${c.onExcess}`,
      `record:          ${c.record ? 'on' : 'off'}`,
      `retention:       ${c.retentionMs === null ? 'global default' : formatDuration(c.retentionMs)}`,
      `replay offline:  ${c.replayOffline ? 'on' : 'off'}`,
      `second push:     ${c.secondPush}`,
      `reconnect grace: ${c.reconnectGraceMs === 0 ? 'none' : formatDuration(c.reconnectGraceMs)}`,
    ].join('\n') + '\n'
  );
}
