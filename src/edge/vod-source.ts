// Which file an edge plays for `vod+<recording id>` (VoD on edges). MistServer 3.10's
// edge cannot play a recording pulled from the origin over DTSC (the stream goes inactive at once),
// so edges play recordings from shared storage: the origin's recordings folder mounted on every
// edge. The origin replicates each playable recording's path relative to its recordings-root
// (sc:vodfile:<id>); the edge joins it to its own root (recordings_root= in streamctl.conf) and
// applies the one-box checks (recordings/recording-path.ts): under the root, its folder really
// there, the file a regular file, never a link. The id is parsed from the stream name; the path is
// built only from the replicated value, never from the name.
import type { RedisClient } from '../lib/resp';
import { parseStreamName, recordingOf } from '../live/stream-name';
import { pathUnderRoot, recordingFileProblem } from '../recordings/recording-path';
import { keys } from '../replica/schema';
import { readSettings, stringOrNil } from './replicated';

/** The file to play, or why the configured placeholder source stays (quiet: not a recording stream at all). */
export type EdgeVodSource = { path: string } | { why: string; quiet?: boolean };

/**
 * Decides the source of `stream` on an edge whose recordings root is `root` (undefined: not
 * configured). Reads the replica once (settings and the recording's file); throws on Redis errors.
 */
export async function edgeVodSource(replica: () => Promise<RedisClient>, stream: string, root: string | undefined): Promise<EdgeVodSource> {
  const name = parseStreamName(stream);
  const id = name?.recordingId ?? null;
  if (id === null) return { why: 'not a recording stream', quiet: true };
  const [settingsReply, fileReply] = await (await replica()).pipeline([
    ['GET', keys.settings],
    ['GET', keys.vodFile(id)],
  ]);
  const settings = readSettings(keys.settings, settingsReply);
  if (recordingOf(name, settings['vod-base']) === null) return { why: 'not a recording stream', quiet: true };
  const relative = stringOrNil(keys.vodFile(id), fileReply);
  if (relative === null) return { why: `no recording ${id} in the replica` };
  if (!root)
    return { why: "no recordings root on this edge (recordings_root= in streamctl.conf: the origin's recordings folder, mounted here)" };
  const joined = pathUnderRoot(root, relative);
  if ('problem' in joined) return { why: `recording ${id} is not served: ${joined.problem}` };
  const problem = recordingFileProblem(root, joined.path);
  if (problem !== null) return { why: `recording ${id} is not served: ${problem} (is the origin's recordings folder mounted at ${root}?)` };
  return { path: joined.path };
}
