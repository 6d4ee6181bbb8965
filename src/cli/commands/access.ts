// `streamctl access explain`: the admission decision for a would-be viewer, made by the same
// function as the USER_NEW trigger (read-only: it opens no session and records no event).
import { Command } from 'commander';
import { decideAccess } from '../../access/decide';
import { checkToken, playbackJwt, type TokenCheck } from '../../access/token';
import { UsageError } from '../../lib/errors';
import { parseIp } from '../../lib/ip';
import { getChannel } from '../../store/channels';
import type { CliContext } from '../context';
import { isoTime } from '../format';
import { readSecretFromStdin } from '../input';
import { requireUser } from '../resolve';

export function accessCommand(ctx: CliContext): Command {
  const cmd = new Command('access').description('viewer access: why a viewer is admitted or refused');

  cmd
    .command('explain <channel>')
    .description('print the decision USER_NEW would make for a viewer, and the rule that made it; exit 1 when it refuses')
    .option('--token <jwt>', 'the playback token the viewer presents ("-" reads it from stdin)')
    .option('--ip <address>', 'the viewer address', '0.0.0.0')
    .option('--session <id>', "MistServer's 64-hex session id (an open session keeps its place under the cap)")
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { token?: string; ip: string; session?: string; json?: boolean }) => {
      if (!parseIp(opts.ip)) throw new UsageError(`invalid --ip "${opts.ip}": expected an IPv4 or IPv6 address`);
      if (opts.session !== undefined && !/^[0-9a-f]{64}$/.test(opts.session))
        throw new UsageError('invalid --session: expected 64 hex characters');
      const db = ctx.db();
      const user = requireUser(db, name);
      const now = ctx.now();
      const tokenText = opts.token === '-' ? readSecretFromStdin(ctx, 'token') : opts.token;
      let token: TokenCheck = { state: 'none' };
      let tokenNote = 'no token';
      if (tokenText !== undefined && tokenText !== '') {
        const found = playbackJwt(tokenText);
        if (!found) tokenNote = 'not a JWT: treated as no token (like a number MistServer generates)';
        else {
          token = await checkToken(db, found.jwt, user.name, now);
          tokenNote =
            token.state === 'valid'
              ? `valid (key "${token.keyLabel}", viewer ${JSON.stringify(token.claims.viewer)}, expires ${isoTime(token.claims.expiresAt)})`
              : `invalid: ${token.state === 'invalid' ? token.reason : ''}`;
          if (found.repaired) tokenNote += ' [first character restored, as MistServer drops it from Bearer headers]';
        }
      }
      const d = decideAccess(db, {
        channel: { userId: user.id, userName: user.name, disabled: user.disabled },
        ip: opts.ip,
        token,
        sessionId: opts.session,
        now,
      });
      const policy = getChannel(db, user.id);
      // A refusal is the answer asked for, not a failure: exit 1 without an error line.
      if (!d.allow) ctx.answerNo();
      if (opts.json) {
        return ctx.json({
          channel: user.name,
          access: policy?.access ?? null,
          decision: d.allow ? 'admit' : 'refuse',
          rule: d.rule,
          reason: d.reason,
          viewer: d.viewer,
          token: token.state,
          token_problem: token.state === 'invalid' ? token.reason : null,
        });
      }
      ctx.out(
        [
          `channel:  ${user.name} (${policy ? `access ${policy.access}${policy.viewerCap !== null ? `, viewer cap ${policy.viewerCap}` : ''}` : 'no policy row'})`,
          `address:  ${opts.ip}`,
          `token:    ${tokenNote}`,
          `decision: ${d.allow ? 'ADMIT' : 'REFUSE'}`,
          `rule:     ${d.rule}: ${d.reason}`,
        ].join('\n') + '\n',
      );
    });

  return cmd;
}
