// Recording file paths. Every path streamctl answers, serves or deletes is built from database
// values and checked to lie under the recordings root; no text from a stream name ever reaches one.
import { statSync } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';

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

/** True when `path` is under the root and is a regular file now (what MistServer can play). */
export function isPlayableFile(root: string, path: string): boolean {
  if (!isUnderRoot(root, path)) return false;
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
