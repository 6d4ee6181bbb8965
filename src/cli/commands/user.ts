// `streamctl user ...`: the site's broadcasters. Adding a user creates its first stream key.
import { Command } from 'commander';
import { UsageError, UserError } from '../../lib/errors';
import { canonicalName, nameProblem, printable } from '../../lib/names';
import { createUserWithKey } from '../../ingest/keys';
import { removeRecordingsInBatches } from '../../recordings/remove';
import { requireRecordingsRoot } from '../../recordings/root';
import { listKeys } from '../../store/keys';
import { recordingTargetsOfUser } from '../../store/recordings';
import { deleteUser, listUsers, setUserDisabled } from '../../store/users';
import type { CliContext } from '../context';
import { recordAdmin } from '../admin-events';
import { newKeyMessage, shortTime, table } from '../format';
import { keyJson, userJson } from '../shapes';
import { applyLiveEffects } from '../../live/session-effects';
import { requireUser } from '../resolve';
import { commitOnceShown } from '../stdio';

export function userCommand(ctx: CliContext): Command {
  const cmd = new Command('user').description('manage broadcasters (one channel each)');

  cmd
    .command('add <name>')
    .description('create a user and its first stream key (printed once)')
    .option('--display-name <text>', 'name shown on the site')
    .option('--external-id <id>', "the user's id in the site's own user table")
    .option('--json', 'print the user as JSON, with the new key itself in "key" and its details in "new_key"')
    .action((rawName: string, opts: { displayName?: string; externalId?: string; json?: boolean }) => {
      const name = canonicalName(rawName);
      const problem = nameProblem(name);
      if (problem) throw new UsageError(`invalid user name "${printable(rawName)}": ${problem}`);
      const db = ctx.db();
      const now = ctx.now();
      commitOnceShown(db, () => {
        const created = createUserWithKey(db, { name, displayName: opts.displayName ?? null, externalId: opts.externalId ?? null }, now);
        recordAdmin(ctx, {
          action: 'user add',
          userId: created.user.id,
          reason: `added user ${created.user.name} with stream key "${created.stored.label}"`,
        });
        if (opts.json)
          ctx.json({ ...userJson(created.user, 1), key: created.key, new_key: keyJson(created.user.name, created.stored, now) });
        else ctx.out(`created user ${created.user.name}\n${newKeyMessage(created.key, created.stored.label)}`);
      });
    });

  cmd
    .command('list')
    .description('list users')
    .option('--names', 'only the names, one a line (for scripts and shell completion)')
    .option('--json', 'print JSON')
    .action((opts: { names?: boolean; json?: boolean }) => {
      const db = ctx.db();
      const users = listUsers(db);
      if (opts.names && !opts.json) return ctx.out(users.map((u) => `${u.name}\n`).join(''));
      const keyCount = (id: number) => listKeys(db, id, ctx.now(), false).length;
      if (opts.json) return ctx.json(users.map((u) => userJson(u, keyCount(u.id))));
      if (users.length === 0) return ctx.out("no users yet (add one with 'streamctl user add <name>')\n");
      ctx.out(
        table(
          ['NAME', 'DISPLAY NAME', 'EXTERNAL ID', 'STATE', 'KEYS', 'CREATED'],
          users.map((u) => [
            u.name,
            u.displayName ?? '-',
            u.externalId ?? '-',
            u.disabled ? 'disabled' : 'enabled',
            String(keyCount(u.id)),
            shortTime(u.createdAt),
          ]),
        ),
      );
    });

  cmd
    .command('show <name>')
    .description("show one user and its keys' summary")
    .option('--json', 'print JSON')
    .action((name: string, opts: { json?: boolean }) => {
      const db = ctx.db();
      const user = requireUser(db, name);
      const keys = listKeys(db, user.id, ctx.now(), false);
      if (opts.json) return ctx.json(userJson(user, keys.length));
      ctx.out(
        [
          `name:         ${user.name}`,
          `display name: ${user.displayName === null ? '-' : printable(user.displayName)}`,
          `external id:  ${user.externalId === null ? '-' : printable(user.externalId)}`,
          `state:        ${user.disabled ? 'disabled (pushes refused)' : 'enabled'}`,
          `created:      ${shortTime(user.createdAt)}`,
          `keys:         ${keys.length} working (${keys.map((k) => k.label).join(', ') || 'none'})`,
        ].join('\n') + '\n',
      );
    });

  for (const disable of [true, false]) {
    cmd
      .command(`${disable ? 'disable' : 'enable'} <name>`)
      .description(disable ? 'refuse all pushes from this user (keys are kept)' : 'allow pushes from this user again')
      .option('--json', 'print the user as JSON')
      .action(async (name: string, opts: { json?: boolean }) => {
        const db = ctx.db();
        const user = requireUser(db, name);
        setUserDisabled(db, user.id, disable);
        if (disable !== user.disabled)
          recordAdmin(ctx, {
            action: `user ${disable ? 'disable' : 'enable'}`,
            userId: user.id,
            reason: `${disable ? 'disabled' : 'enabled'} user ${user.name}`,
          });
        if (opts.json) ctx.json(userJson(requireUser(db, user.name), listKeys(db, user.id, ctx.now(), false).length));
        else ctx.out(`${user.name} ${disable ? 'disabled' : 'enabled'}\n`);
        // Disabling a user already disabled changes nothing live.
        if (disable && !user.disabled) await applyLiveEffects(ctx, [{ kind: 'stop-publisher', user: user.name, reason: 'user disabled' }]);
      });
  }

  cmd
    .command('remove <name>')
    .description('delete a user with its keys, channel settings and history')
    .option('--delete-recordings', "also delete the user's recordings (files and catalogue)")
    .option('--yes', 'remove without asking (needed when stdin is not a terminal: scripts, cron)')
    .option('--json', 'print the removed user as JSON (as it was)')
    .action(async (name: string, opts: { deleteRecordings?: boolean; yes?: boolean; json?: boolean }) => {
      const db = ctx.db();
      const user = requireUser(db, name);
      const removed = userJson(user, listKeys(db, user.id, ctx.now(), false).length);
      // Nothing of it can be undone: a person is asked, a script says --yes.
      if (!opts.yes) {
        const what = `remove ${user.name} with its ${removed.active_keys} key(s), channel settings and history${opts.deleteRecordings ? ' and recordings' : ''}?`;
        const answer = ctx.confirm(what);
        if (answer === null)
          throw new UsageError(
            `user remove deletes ${user.name}'s keys, channel settings and history for good: add --yes to confirm (nobody to ask: stdin is not a terminal)`,
          );
        if (!answer) throw new UserError(`${user.name} was not removed`);
      }
      // Recording rows go with the user (ON DELETE CASCADE): their files would be left behind,
      // unknown to prune. So they are deleted first, on request, or the removal is refused.
      const recordings = recordingTargetsOfUser(db, user.id);
      if (recordings.length > 0) {
        if (!opts.deleteRecordings) {
          throw new UserError(`${user.name} has ${recordings.length} recording(s); add --delete-recordings to delete them with the user`);
        }
        const outcomes = removeRecordingsInBatches(db, requireRecordingsRoot(db), recordings, ctx.now());
        const kept = outcomes.filter((o) => o.result === 'failed' || o.result === 'outside-root');
        if (kept.length > 0) {
          throw new UserError(
            `${kept.length} recording file(s) of ${user.name} could not be deleted (first: ${kept[0]!.id}: ${kept[0]!.error}); the user was not removed`,
          );
        }
        if (!opts.json) ctx.out(`deleted ${outcomes.length} recording(s) of ${user.name}\n`);
      }
      deleteUser(db, user.id);
      recordAdmin(ctx, {
        action: 'user remove',
        reason: `removed user ${user.name} (#${user.id}) with ${removed.active_keys} key(s)${recordings.length ? ` and ${recordings.length} recording(s)` : ''}`,
      });
      if (opts.json) ctx.json(removed);
      else ctx.out(`removed user ${user.name}\n`);
      await applyLiveEffects(ctx, [
        { kind: 'stop-publisher', user: user.name, reason: 'user removed' },
        { kind: 'recheck-viewers', user: user.name, reason: 'user removed' },
      ]);
    });

  return cmd;
}
