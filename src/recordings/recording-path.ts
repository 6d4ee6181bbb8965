// Recording file paths. Every path streamctl answers, serves or deletes is built from database
// values and checked to lie under the recordings root; no text from a stream name ever reaches one.
// MistServer's user can write inside the root, so it could plant symbolic links there: files are
// also checked where they really are (realpath under the root's real path), a recording itself is
// never a link, and folders are created one level at a time without following one.
import { lstatSync, mkdirSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';

/** Containers MistServer can both record and play back from a file. */
export const RECORDING_EXTENSIONS = ['mkv', 'flv', 'ts', 'mp4'] as const;
export type RecordingExtension = (typeof RECORDING_EXTENSIONS)[number];

/**
 * Why a recordings root is refused, or null. MistServer substitutes `$variables` in push targets
 * and reads `?options`, so those characters (and control characters) are not allowed at all.
 */
export function recordingsRootProblem(root: string): string | null {
  if (!isAbsolute(root)) return 'expected an absolute folder such as /var/lib/streamctl/recordings';
  if (/[$?#\\\u0000-\u001f\u007f]/.test(root)) return 'the folder must not contain $, ?, #, \\ or control characters';
  if (resolve(root) === sep) return 'the filesystem root cannot be the recordings root';
  return null;
}

/** True when `path` resolves to something strictly inside `root` (never the root itself). */
export function isUnderRoot(root: string, path: string): boolean {
  if (recordingsRootProblem(root) !== null || !isAbsolute(path)) return false;
  const base = resolve(root);
  return resolve(path).startsWith(base + sep);
}

/** True for push targets that are local files (no `scheme://`, or `file://`). */
export function isFileTarget(target: string): boolean {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(target);
  return scheme === null || scheme[1]!.toLowerCase() === 'file';
}

/** The container of a configured file target ("…/$datetime.mkv?opt=1" → "mkv"), or null if unsupported. */
export function targetExtension(target: string): RecordingExtension | null {
  const path = target.split('?', 1)[0]!;
  const dot = path.lastIndexOf('.');
  if (dot < 0 || path.lastIndexOf('/') > dot) return null;
  const ext = path.slice(dot + 1).toLowerCase();
  return (RECORDING_EXTENSIONS as readonly string[]).includes(ext) ? (ext as RecordingExtension) : null;
}

/** UTC time as 20261123-192357-090: sortable, no characters MistServer or a shell would treat specially. */
export function fileStamp(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2026-11-23T19:23:57.090Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}-${iso.slice(20, 23)}`;
}

/** `<root>/<user id>/<stamp>.<ext>`: the only shape of recording path streamctl hands out. */
export function recordingPath(root: string, userId: number, startedMs: number, ext: RecordingExtension): string {
  if (!Number.isSafeInteger(userId) || userId <= 0) throw new Error(`invalid user id ${userId}`);
  return join(resolve(root), String(userId), `${fileStamp(startedMs)}.${ext}`);
}

/**
 * Real locations already resolved, path → real path (null: cannot be resolved). One batch of
 * removals shares one: Node's realpath lstats every component of the path, ten system calls per
 * recording for the root and its folder, which made a prune of 100,000 recordings spend more time
 * resolving the same few folders again than unlinking files. Each lookup is as old as
 * the batch (a few ms); the file itself is always checked afresh.
 */
export type RealpathCache = Map<string, string | null>;

/** The real location of a path (links resolved), or null when it cannot be resolved. */
function realpathOrNull(path: string, cache?: RealpathCache): string | null {
  if (!cache) {
    try {
      return realpathSync(path);
    } catch {
      return null;
    }
  }
  const known = cache.get(path);
  if (known !== undefined) return known;
  // A channel's folder under the already resolved root: only its own last component can be a link.
  const realParent = cache.get(dirname(path));
  let real: string | null;
  try {
    real = realParent && !lstatSync(path).isSymbolicLink() ? join(realParent, basename(path)) : realpathSync(path);
  } catch {
    real = null;
  }
  cache.set(path, real);
  return real;
}

/** What a recording file may be checked against: optionally its channel's own folder. */
export interface RecordingFileRules {
  /** The file must be directly in <root>/<userId>/, that folder really being there. */
  userId?: number;
  /** A file that does not exist (yet, or any more) passes, when nothing at its folder leads elsewhere. */
  allowMissing?: boolean;
  /** Anything but a link passes as the file (removal: unlinking a folder fails by itself). */
  allowNonRegular?: boolean;
}

/**
 * Why a recording path must not be served, catalogued or deleted, or null when it may: lexically
 * under the root, its folder really under the root's real path (no linked folder leads out), and
 * the file itself a regular file, never a link.
 */
export function recordingFileProblem(root: string, path: string, rules: RecordingFileRules = {}, realpaths?: RealpathCache): string | null {
  if (!isUnderRoot(root, path)) return 'not under recordings-root';
  const realRoot = realpathOrNull(resolve(root), realpaths);
  if (realRoot === null) return 'recordings-root does not exist';
  const folder = dirname(resolve(path));
  const realFolder = realpathOrNull(folder, realpaths);
  if (rules.userId !== undefined) {
    if (folder !== join(resolve(root), String(rules.userId))) return "not in the channel's own folder";
    // No folder at all (not even a dangling link), so no file: a row for it leads nowhere.
    if (realFolder === null && rules.allowMissing && isFreePath(folder)) return null;
    if (realFolder !== join(realRoot, String(rules.userId))) return "the channel's folder is a link or missing";
  } else if (realFolder === null) {
    // No folder, so no file: nothing there to serve or to unlink.
    return rules.allowMissing && isFreePath(path) ? null : 'the file is missing';
  } else if (!realFolder.startsWith(realRoot + sep)) {
    return 'its folder leads outside recordings-root (a symbolic link)';
  }
  try {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) return 'the file is a symbolic link';
    if (!st.isFile() && !rules.allowNonRegular) return 'not a regular file';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && rules.allowMissing) return null;
    return 'the file is missing';
  }
  return null;
}

/** True when `path` is a regular file really under the root now (what MistServer can play). */
export function isPlayableFile(root: string, path: string): boolean {
  return recordingFileProblem(root, path) === null;
}

/**
 * Makes <root>/<userId>/ (the root too, when missing) and returns it, or a problem: the channel's
 * folder is created with a plain mkdir (no recursion through links) and must then really be a
 * folder of the root itself, not a link to somewhere else.
 */
export function prepareChannelFolder(root: string, userId: number): { folder: string } | { problem: string } {
  const base = resolve(root);
  const folder = join(base, String(userId));
  try {
    // The root is the operator's: links above or at it are their choice, so it may be made recursively.
    mkdirSync(base, { recursive: true, mode: 0o750 });
    mkdirSync(folder, { mode: 0o750 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return { problem: `could not create ${folder}: ${(err as Error).message}` };
  }
  const realRoot = realpathOrNull(base);
  try {
    const st = lstatSync(folder);
    if (st.isSymbolicLink() || !st.isDirectory()) return { problem: `${folder} is not a folder (a symbolic link?)` };
  } catch (err) {
    return { problem: `could not check ${folder}: ${(err as Error).message}` };
  }
  if (realRoot === null || realpathOrNull(folder) !== join(realRoot, String(userId)))
    return { problem: `${folder} leads outside recordings-root` };
  return { folder };
}

/** True when nothing, not even a dangling link, is at `path` (a link would send the recording elsewhere). */
export function isFreePath(path: string): boolean {
  try {
    lstatSync(path);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/**
 * A recording's path relative to the root, '/'-separated ("3/20261123-192357-090.mkv"), or null when
 * it is not under the root: what the origin replicates, so an edge that mounts the same folder
 * elsewhere finds the file under its own root (docs/deployment.md, VoD on edges).
 */
export function relativeRecordingPath(root: string, path: string): string | null {
  if (!isUnderRoot(root, path)) return null;
  return resolve(path)
    .slice(resolve(root).length + 1)
    .split(sep)
    .join('/');
}

/**
 * The absolute path of a replicated relative path under `root`, or a problem. Only plain segments
 * are accepted (no absolute path, `.`/`..`, empty segment, backslash or control character): the
 * value comes from Redis, so it is checked before it reaches a path; recordingFileProblem then
 * checks the file itself (links, under the root's real path).
 */
export function pathUnderRoot(root: string, relative: string): { path: string } | { problem: string } {
  if (recordingsRootProblem(root) !== null)
    return { problem: `the recordings root ${root.slice(0, 80)} is not usable: ${recordingsRootProblem(root)}` };
  const segments = relative.split('/');
  if (
    relative === '' ||
    relative.length > 1024 ||
    /[\\\u0000-\u001f\u007f]/.test(relative) ||
    segments.some((s) => s === '' || s === '.' || s === '..')
  ) {
    return { problem: 'the replicated path is not a plain relative path' };
  }
  const path = join(resolve(root), ...segments);
  return isUnderRoot(root, path) ? { path } : { problem: 'the replicated path leads outside the recordings root' };
}
