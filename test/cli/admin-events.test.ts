// Admin changes in the event log: who (the operating-system user), what, when, shown by
// `streamctl events --kind admin`, in JSON too; never a secret.
import { userInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { freshDb } from '../support/helpers';
import { addUser, cli, cliJson } from '../support/cli';

interface EventJson {
  kind: string;
  outcome: string;
  reason: string;
  user: string | null;
  actor: string | null;
  detail: string | null;
}

describe('admin events', () => {
  it('records key rotate, ban add/remove, grant add/remove, channel set, user add/remove with the OS user; events --kind admin shows them', async () => {
    const db = freshDb();
    const firstKey = await addUser(db, 'alice');
    await addUser(db, 'bob');
    const rotated = await cliJson<{ key: string }>(db, ['key', 'rotate', 'alice']);
    expect((await cli(db, ['channel', 'set', 'alice', '--viewer-cap', '3', '--record', 'on'])).status).toBe(0);
    expect((await cli(db, ['grant', 'add', 'alice', 'viewer-7', '--until', '30d'])).status).toBe(0);
    expect((await cli(db, ['grant', 'remove', 'alice', 'viewer-7'])).status).toBe(0);
    const ban = await cliJson<{ id: number }>(db, ['ban', 'add', '--viewer', 'troll', '--channel', 'alice', '--reason', 'spam']);
    expect((await cli(db, ['ban', 'remove', String(ban.id)])).status).toBe(0);
    expect((await cli(db, ['config', 'set', 'token-max-ttl', '2h'])).status).toBe(0);
    const secret = await cliJson<{ secret: string }>(db, ['token', 'secret']);
    expect((await cli(db, ['channel', 'password', 'bob'], { stdin: 'correct horse battery' })).status).toBe(0);
    expect((await cli(db, ['user', 'remove', 'bob', '--yes'])).status).toBe(0);

    const events = await cliJson<EventJson[]>(db, ['events', '--kind', 'admin']);
    const me = userInfo().username;
    expect(events.every((e) => e.kind === 'admin' && e.actor === me)).toBe(true);
    expect(events.map((e) => e.outcome).reverse()).toEqual([
      'user add',
      'user add',
      'key rotate',
      'channel set',
      'grant add',
      'grant remove',
      'ban add',
      'ban remove',
      'config set',
      'token secret',
      'channel password',
      'user remove',
    ]);
    const byOutcome = (o: string) => events.find((e) => e.outcome === o)!;
    expect(byOutcome('channel set')).toMatchObject({ user: 'alice', reason: 'alice: --viewer-cap 3 --record on' });
    expect(byOutcome('ban remove')).toMatchObject({
      user: 'alice',
      reason: `lifted ban #${ban.id}: viewer troll on alice`,
      detail: 'troll',
    });
    expect(byOutcome('grant remove')).toMatchObject({ user: 'alice', detail: 'viewer-7' });
    // The removed user's name stays in the words (its id is gone with it).
    expect(byOutcome('user remove')).toMatchObject({
      user: null,
      reason: expect.stringMatching(/^removed user bob \(#\d+\) with 1 key\(s\)$/),
    });
    // Never a secret: stream keys, the token secret, the password.
    const everything = JSON.stringify(await cliJson(db, ['events', '--limit', '1000']));
    for (const s of [firstKey, rotated.key, secret.secret, 'correct horse battery']) expect(everything).not.toContain(s);

    // "Who unbanned this viewer?"
    const table = (await cli(db, ['events', '--kind', 'admin', '--user', 'alice'])).stdout;
    expect(table.split('\n')[0]).toMatch(/^TIME +KIND +OUTCOME +USER +IP +BY +REASON$/);
    expect(table).toMatch(new RegExp(`admin +ban remove +alice +- +${me} +lifted ban #${ban.id}: viewer troll on alice`));
    // Trigger events have no actor.
    expect((await cliJson<EventJson[]>(db, ['events'])).filter((e) => e.kind !== 'admin').every((e) => e.actor === null)).toBe(true);
  });

  it('records guard allow and config unset too', async () => {
    const db = freshDb();
    expect((await cli(db, ['guard', 'allow', '203.0.113.0/24', '--note', 'office NAT'])).status).toBe(0);
    expect((await cli(db, ['config', 'unset', 'token-max-ttl'])).status).toBe(0);
    expect((await cliJson<EventJson[]>(db, ['events', '--kind', 'admin'])).map((e) => [e.outcome, e.reason])).toEqual([
      ['config unset', 'token-max-ttl back to its default'],
      ['guard allow', '203.0.113.0/24 allowlisted (office NAT)'],
    ]);
  });

  it('records token revoke with the token id, never the token', async () => {
    const db = freshDb();
    await addUser(db, 'dana');
    await cli(db, ['token', 'secret']);
    const issued = await cliJson<{ jti: string; token: string }>(db, [
      'token',
      'issue',
      'dana',
      '--viewer',
      'v-1',
      '--ttl',
      '1h',
      '--json',
    ]);
    expect((await cli(db, ['token', 'revoke', issued.jti])).status).toBe(0);
    const events = await cliJson<EventJson[]>(db, ['events', '--kind', 'admin']);
    expect(events[0]).toMatchObject({ outcome: 'token revoke', detail: issued.jti });
    expect(events[0]!.reason).toMatch(new RegExp(`^revoked token ${issued.jti} \\(kept until .+\\); 0 session\\(s\\) stopped$`));
    expect(JSON.stringify(events)).not.toContain(issued.token);
  });

  it('a refused command and a change that changes nothing record nothing', async () => {
    const db = freshDb();
    await addUser(db, 'carol');
    expect((await cli(db, ['grant', 'add', 'carol', 'v1', '--until', 'tomorrow'])).status).toBe(2);
    expect((await cli(db, ['ban', 'remove', '999'])).status).toBe(1);
    expect((await cli(db, ['user', 'remove', 'carol'], { stdin: '' })).status).toBe(2);
    expect((await cli(db, ['user', 'enable', 'carol'])).status).toBe(0);
    expect((await cliJson<EventJson[]>(db, ['events', '--kind', 'admin'])).map((e) => e.outcome)).toEqual(['user add']);
  });
});
