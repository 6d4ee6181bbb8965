import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { edgeRecordingsRoot, edgeSessionsDir } from '../config';
import { recordingsRootProblem } from '../recordings/recording-path';
import type { Finding } from './finding';
import type { DoctorInput, DoctorScope } from './doctor';
import { canRead, canWrite } from './permissions';

/** An edge's recordings_root=: the origin's recordings folder on shared storage, readable by MistServer's user. */
function edgeRecordingsCheck(root: string | undefined, mistUser: DoctorInput['mistUser'], who: string): Finding {
  const check = 'recordings root';
  const fix =
    "mount the origin's recordings folder on this edge (NFS, or object storage through a mount) and set recordings_root=<that folder> in streamctl.conf (install.sh ROLE=edge RECORDINGS_ROOT=...)";
  if (!root)
    return { check, status: 'warn', message: 'no recordings_root= in streamctl.conf: recordings play the placeholder on this edge', fix };
  const problem = recordingsRootProblem(root);
  if (problem !== null) return { check, status: 'fail', message: `recordings_root=${root}: ${problem}`, fix };
  if (!existsSync(root) || !statSync(root).isDirectory())
    return { check, status: 'fail', message: `${root} does not exist: recordings play the placeholder on this edge`, fix };
  if (!canRead(root, mistUser))
    return {
      check,
      status: 'fail',
      message: `${who} cannot read ${root}: recordings play the placeholder on this edge`,
      fix: `let ${who} read ${root}`,
    };
  return { check, status: 'ok', message: `${root} (the origin's recordings, shared storage): ${who} can read it` };
}

/**
 * An edge's token-session records (src/edge/token-expiry.ts): its USER_NEW refuses every token
 * viewer whose expiry it cannot record, so MistServer's user must be able to write the folder (or,
 * before the first one, the folder it is made in).
 */
function edgeSessionsCheck(dir: string | undefined, mistUser: DoctorInput['mistUser'], who: string, owner: string): Finding {
  const check = 'sessions folder';
  if (!dir)
    return {
      check,
      status: 'fail',
      message: 'no sessions folder (db= or sessions_dir= in streamctl.conf): every viewer with a token is refused on this edge',
      fix: 'run install.sh ROLE=edge again (it writes db=), or set sessions_dir=<folder> in streamctl.conf',
    };
  const target = existsSync(dir) ? dir : dirname(dir);
  if (!existsSync(target) || !statSync(target).isDirectory())
    return {
      check,
      status: 'fail',
      message: `${target} is not a folder: every viewer with a token is refused`,
      fix: `mkdir -p ${dir} && chown ${owner} ${dir}`,
    };
  if (!canWrite(target, mistUser))
    return {
      check,
      status: 'fail',
      message: `${who} cannot write ${target}: every viewer with a token is refused on this edge`,
      fix: `chown ${owner} ${target}`,
    };
  return { check, status: 'ok', message: `${who} can write ${dir} (token expiry records)` };
}

/** The VoD placeholder and the recordings root (an edge's: the origin's folder, mounted). */
export function storageFindings(input: DoctorInput, scope: DoctorScope): Finding[] {
  const out: Finding[] = [];
  const add = (f: Finding) => out.push(f);
  const { who, owner, role } = scope;
  // The VoD placeholder: what MistServer plays when STREAM_SOURCE answers nothing (an edge too).
  const placeholder = input.desired.vodSource;
  add(
    existsSync(placeholder) && statSync(placeholder).isFile()
      ? { check: 'vod placeholder', status: 'ok', message: placeholder }
      : {
          check: 'vod placeholder',
          status: 'warn',
          message: `${placeholder} does not exist: unknown or deleted recordings play nothing`,
          fix: `put a short harmless video at ${placeholder} (or streamctl config set vod-placeholder <file>, then mist apply)`,
        },
  );

  // An edge records nothing (the origin does); it plays recordings from the origin's folder, mounted here.
  if (role === 'edge') {
    add(edgeRecordingsCheck(edgeRecordingsRoot(), input.mistUser, who));
    add(edgeSessionsCheck(edgeSessionsDir(), input.mistUser, who, owner));
    return out;
  }

  // Recordings root: MistServer's recorder writes there.
  const root = input.desired.recordingsRoot;
  add(
    !existsSync(root) || !statSync(root).isDirectory()
      ? { check: 'recordings root', status: 'fail', message: `${root} does not exist`, fix: `mkdir -p ${root} && chown ${owner} ${root}` }
      : canWrite(root, input.mistUser)
        ? { check: 'recordings root', status: 'ok', message: `${who} can write ${root}` }
        : {
            check: 'recordings root',
            status: 'fail',
            message: `${who} cannot write ${root}: recordings fail`,
            fix: `chown ${owner} ${root}`,
          },
  );
  return out;
}
