// One line per trigger for docs, `streamctl triggers` and `mist apply --dry-run`. Kept out of the
// registry so trigger programs, which load the registry, do not carry these texts.
import type { EdgeTriggerName, TriggerName } from './registry';

/** What streamctl does with each trigger, in one line. */
export const TRIGGER_SUMMARIES: Record<TriggerName, string> = {
  PUSH_REWRITE: 'maps a stream key to <base>+<user>; refuses unknown, revoked and disabled keys',
  RTMP_PUSH_REWRITE: 'RTMP-only variant of PUSH_REWRITE (install one of the two, PUSH_REWRITE preferred)',
  USER_NEW: "admits or refuses each viewer session by the channel's access policy, bans, tokens and viewer cap",
  PUSH_OUT_START:
    'records channels with recording on to <recordings-root>/<user id>/<time>.<ext>; aborts the rest of file pushes of "+" streams',
  RECORDING_END: 'catalogues a finished recording under the recordings root (failed when empty or not a clean exit)',
  STREAM_SOURCE: 'plays <vod-base>+<recording id> from the recording file; empty keeps the configured source',
  DEFAULT_STREAM: "offline channel: latest recording (replay-offline), else offline-stream, else MistServer's default",
  STREAM_BUFFER: 'live status: FULL/RECOVER live, DRY unstable, EMPTY offline; opens and closes broadcasts, keeps track health',
  STREAM_END: "keeps MistServer's totals (bytes, viewers) for the broadcast that just ended",
  USER_END: 'closes a viewer session with its duration and bytes (watch time and viewers per broadcast)',
};

/** What an edge's program does with each trigger it handles (registry EDGE_TRIGGERS), in one line. */
export const EDGE_TRIGGER_SUMMARIES: Record<EdgeTriggerName, string> = {
  USER_NEW:
    "the same admission rules as the origin, over the origin's data in the edge's Redis replica; the viewer cap claimed on the origin's Redis primary (300 ms, else refused)",
  USER_END:
    "frees the session's place under the viewer cap on the origin's Redis primary and hands its totals to the origin (sc:ends, stored by the relay)",
  STREAM_BUFFER: "tags the edge's live stream `open` when the replicated channel is open (FULL/RECOVER), untags it otherwise",
  STREAM_SOURCE:
    "for a recording's stream (`vod+` and its id), the recording's file on the shared storage the edge mounts (recordings_root= in streamctl.conf, path from the replica); otherwise the placeholder",
};
