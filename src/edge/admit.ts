// USER_NEW on an edge: the same admission rules as the origin (access/admission.ts), over facts
// read from the edge's local Redis replica in one pipelined read, and the viewer cap claimed on the
// origin's primary. The edge has no database. Every error refuses: a replica cut off from the
// primary answers errors (replica-serve-stale-data no), never stale policies.
import { decideAdmission, capRefusal, viewerSessionsRefusal, type AccessDecision, type BanFact } from '../access/admission';
import { playbackJwt, verifyToken, type TokenCheck } from '../access/token';
import type { RedisClient } from '../lib/resp';
import type { EdgeRedis } from './edge-redis';
import { classifyStream, parseStreamName } from '../live/stream-name';
import { keys } from '../replica/schema';
import { grantWorks, policyOf, readBans, readChannel, readKeys, readSettings, revokedAt, settingMs, stringOrNil } from './replicated';
import { CAP_BUDGET_MS, claimPlaces, withinBudget } from './viewer-cap';

// Defined in edge-redis.ts; re-exported for modules written before it moved.
export type { EdgeRedis } from './edge-redis';

/** What USER_NEW says about the session (see triggers/user-new.ts for the payload). */
export interface EdgeViewer {
  stream: string;
  ip: string;
  /** MistServer's token line (a JWT, or a generated number / PID without one). */
  token: string;
  sessionId: string;
  /** False for MistServer's 6-line re-check of a session it admitted. */
  firstCheck?: boolean;
}

/** The edge's verdict: on a channel by the shared rules, or on a stream that is not a channel. */
export type EdgeVerdict =
  | {
      allow: boolean;
      channel: string;
      decision: AccessDecision;
      evicted?: string[];
      /** The verified token's `exp` (unix ms): an admitted session must be cut when it passes. */
      tokenExpiresAt?: number;
    }
  | { allow: boolean; channel: null; why: string };

/**
 * The token's `sub` read WITHOUT verifying it: only to fetch that viewer's grant in the same
 * pipelined read. The decision uses the verified claims (a forged `sub` just fetches a grant that
 * is then not used).
 */
export function unverifiedSubject(jwt: string): string | null {
  return unverifiedClaims(jwt).sub;
}

/** The token's `sub` and `jti`, read WITHOUT verifying (to fetch the grant and revocation in the same read). */
export function unverifiedClaims(jwt: string): { sub: string | null; jti: string | null } {
  const ok = (v: unknown) => (typeof v === 'string' && v !== '' && v.length <= 200 ? v : null);
  try {
    const p = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub?: unknown; jti?: unknown };
    return { sub: ok(p.sub), jti: ok(p.jti) };
  } catch {
    return { sub: null, jti: null };
  }
}

/** The commands of one read, with their replies picked back out by name. */
class Batch {
  private readonly cmds: (string | number)[][] = [];
  private readonly index = new Map<string, number>();
  add(name: string, cmd: (string | number)[]): this {
    this.index.set(name, this.cmds.length);
    this.cmds.push(cmd);
    return this;
  }
  async run(client: RedisClient): Promise<(name: string) => unknown> {
    const replies = await client.pipeline(this.cmds);
    return (name) => {
      const i = this.index.get(name);
      return i === undefined ? undefined : replies[i];
    };
  }
}

/** Decides a viewer session on an edge. Throws on any Redis or data error (the caller refuses). */
export async function admitOnEdge(redis: EdgeRedis, viewer: EdgeViewer, now: number): Promise<EdgeVerdict> {
  const parsed = parseStreamName(viewer.stream);
  const liveName = parsed?.channel ?? null;
  const recordingId = parsed?.recordingId ?? null;
  const found = playbackJwt(viewer.token);
  const claimed = found ? unverifiedClaims(found.jwt) : { sub: null, jti: null };
  const claimedSub = claimed.sub;

  // One round trip for everything a live channel needs; the base is checked once settings arrive.
  const replica = await redis.replica();
  const first = new Batch().add('settings', ['GET', keys.settings]).add('globalBans', ['HGETALL', keys.globalBans]);
  if (found) first.add('keys', ['GET', keys.tokenKeys]);
  if (claimed.jti !== null) first.add('revoked', ['HGET', keys.revoked, claimed.jti]);
  if (liveName) addChannelReads(first, liveName, claimedSub);
  if (recordingId) first.add('vod', ['GET', keys.vod(recordingId)]);
  let reply = await first.run(replica);
  const settings = readSettings(keys.settings, reply('settings'));

  let name: string | null = null;
  const kind = classifyStream(parsed, { streamBase: settings['stream-base'], vodBase: settings['vod-base'] });
  if (kind?.kind === 'live') name = kind.channel;
  else if (kind?.kind === 'vod') {
    // A recording: its channel is known only now, so its policy takes a second round trip.
    const owner = stringOrNil(keys.vod(kind.recordingId), reply('vod'));
    if (owner !== null) {
      name = owner;
      const second = addChannelReads(new Batch(), owner, claimedSub);
      const channelReplies = await second.run(replica);
      const firstReplies = reply;
      reply = (n) => (n.startsWith('chan.') ? channelReplies(n) : firstReplies(n));
    }
  }
  const channel = name === null ? null : readChannel(keys.channel(name), reply('chan.channel'));
  if (name === null || channel === null) {
    // Not a channel: the placeholders streamctl sends viewers to are for everyone, the rest follow
    // unknown-stream-access (as on the origin).
    const placeholder = [settings['vod-base'], settings['offline-stream']].includes(viewer.stream.toLowerCase());
    const allow = placeholder || settings['unknown-stream-access'] === 'allow';
    return {
      allow,
      channel: null,
      why: placeholder ? 'a placeholder stream' : `not a channel (unknown-stream-access is ${settings['unknown-stream-access']})`,
    };
  }

  const bans: BanFact[] = [
    ...readBans(keys.globalBans, reply('globalBans'), true),
    ...readBans(keys.channelBans(name), reply('chan.bans'), false),
  ].sort((a, b) => a.id - b.id);
  const channelName = name;
  let token: TokenCheck = { state: 'none' };
  if (found) {
    const tokenKeys = readKeys(keys.tokenKeys, reply('keys'), now);
    token = await verifyToken(found.jwt, channelName, now, tokenKeys, () => settingMs(settings, 'token-max-ttl'));
  }
  // The grant fetched for the unverified `sub` serves only if the verified viewer is the same.
  let grant: boolean | undefined;
  const verified = token.state === 'valid' ? token.claims.viewer : null;
  if (verified !== null) {
    grant =
      verified === claimedSub
        ? grantWorks(keys.grants(channelName), reply('chan.grant'), now)
        : grantWorks(keys.grants(channelName), await replica.call('HGET', keys.grants(channelName), verified), now);
  }

  const policy = policyOf(channel, settings['viewer-sessions']);
  const revoked = (jti: string) => {
    // The verified token carries the very payload read above; another jti would be a bug, never a pass.
    if (jti !== claimed.jti) throw new Error('the verified token id differs from the one read');
    return revokedAt(keys.revoked, reply('revoked'), now);
  };
  const recheck = viewer.firstCheck === false;
  const decision = decideAdmission(
    {
      disabled: channel.disabled,
      bans,
      policy,
      ownerExternalId: () => channel.externalId,
      hasGrant: (v) => v === verified && grant === true,
      revoked,
    },
    { ip: viewer.ip, token, now, recheck },
  );
  const limit = policy?.viewerSessions ?? null;
  const counted = policy !== undefined && (policy.viewerCap !== null || (limit !== null && decision.viewer !== null));
  // A public channel lets an expired token play on (admission.ts): recording it would only buy a
  // useless re-check of every viewer of the stream. A channel that stops being public re-checks
  // its viewers (the relay), and that admission records them.
  const expiry =
    token.state === 'valid' && policy !== undefined && policy.access !== 'public' ? { tokenExpiresAt: token.claims.expiresAt } : {};
  if (!decision.allow || !policy || !counted) return { allow: decision.allow, channel: channelName, decision, ...expiry };

  // Admitted and counted: claim the places on the primary, or refuse (any error or a slow primary included).
  const result = await claimOnPrimary(redis, {
    channel: channelName,
    sessionId: viewer.sessionId,
    cap: policy.viewerCap,
    limit,
    viewer: decision.viewer,
    evictOldest: policy.onExcess === 'evict-oldest',
    recheck,
    staleMs: settingMs(settings, 'viewer-session-stale'),
  });
  if (result.admitted) return { allow: true, channel: channelName, decision, evicted: result.evicted, ...expiry };
  const refusal =
    result.rule === 'viewer-cap' ? capRefusal(policy.viewerCap ?? 0, decision.viewer) : viewerSessionsRefusal(limit ?? 0, decision.viewer);
  return { allow: false, channel: channelName, decision: refusal };
}

/** Claims the session's places on the primary within CAP_BUDGET_MS (connecting included), or throws. */
export function claimOnPrimary(
  redis: Pick<EdgeRedis, 'primary'>,
  claim: Parameters<typeof claimPlaces>[1],
): ReturnType<typeof claimPlaces> {
  return withinBudget(
    (async () => claimPlaces(await redis.primary(CAP_BUDGET_MS), claim))(),
    CAP_BUDGET_MS,
    'claiming a place under the viewer cap / viewer-sessions on the primary',
  );
}

/** The reads of one channel: its value, its bans and (when a token names one) the viewer's grant. */
function addChannelReads(batch: Batch, name: string, sub: string | null): Batch {
  batch.add('chan.channel', ['GET', keys.channel(name)]).add('chan.bans', ['HGETALL', keys.channelBans(name)]);
  if (sub !== null) batch.add('chan.grant', ['HGET', keys.grants(name), sub]);
  return batch;
}
