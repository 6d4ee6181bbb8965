// The ONE list of MistServer triggers streamctl handles. The build makes one program per entry
// (bin/<program> → dist/<program>.js), mist-trigger dispatches through it, and `mist apply` (later)
// configures MistServer from it. Imports nothing, so the hot path pays only for this object.

export interface TriggerSpec {
  /** Program name in bin/ and dist/, and the source file src/triggers/<program>.ts. */
  program: string;
  /** MistServer waits for the answer (sync) instead of ignoring it. */
  blocking: boolean;
  /**
   * What the program prints when anything goes wrong, and the explicit `default` streamctl
   * configures in MistServer (an empty default there means `true`, i.e. fail-open).
   */
  refusal: string;
  /** One line for docs and `mist apply --dry-run`. */
  summary: string;
}

/** Every trigger streamctl handles, by MistServer's trigger name. */
export const TRIGGERS = {
  PUSH_REWRITE: {
    program: 'push-rewrite',
    blocking: true,
    refusal: '',
    summary: 'maps a stream key to <base>+<user>; refuses unknown, revoked and disabled keys',
  },
  RTMP_PUSH_REWRITE: {
    program: 'rtmp-push-rewrite',
    blocking: true,
    refusal: '',
    summary: 'RTMP-only variant of PUSH_REWRITE (install one of the two, PUSH_REWRITE preferred)',
  },
  USER_NEW: {
    program: 'user-new',
    blocking: true,
    refusal: 'false',
    summary: "admits or refuses each viewer session by the channel's access policy, bans, tokens and viewer cap",
  },
  PUSH_OUT_START: {
    program: 'push-out-start',
    blocking: true,
    refusal: '',
    summary: 'records channels with recording on to <recordings-root>/<user id>/<time>.<ext>; aborts the rest of file pushes of "+" streams',
  },
  RECORDING_END: {
    program: 'recording-end',
    blocking: false,
    refusal: '',
    summary: 'catalogues a finished recording under the recordings root (failed when empty or not a clean exit)',
  },
  STREAM_SOURCE: {
    program: 'stream-source',
    blocking: true,
    refusal: '',
    summary: 'plays <vod-base>+<recording id> from the recording file; empty keeps the configured source',
  },
  DEFAULT_STREAM: {
    program: 'default-stream',
    blocking: true,
    refusal: '',
    summary: "offline channel: latest recording (replay-offline), else offline-stream, else MistServer's default",
  },
  STREAM_BUFFER: {
    program: 'stream-buffer',
    blocking: false,
    refusal: '',
    summary: 'live status: FULL/RECOVER live, DRY unstable, EMPTY offline; opens and closes broadcasts, keeps track health',
  },
  STREAM_END: {
    program: 'stream-end',
    blocking: false,
    refusal: '',
    summary: "keeps MistServer's totals (bytes, viewers) for the broadcast that just ended",
  },
  USER_END: {
    program: 'user-end',
    blocking: false,
    refusal: '',
    summary: 'closes a viewer session with its duration and bytes (watch time and viewers per broadcast)',
  },
} as const satisfies Record<string, TriggerSpec>;

export type TriggerName = keyof typeof TRIGGERS;

/** True when name is a trigger streamctl handles. */
export function isTriggerName(name: string): name is TriggerName {
  return Object.prototype.hasOwnProperty.call(TRIGGERS, name);
}
