// The ONE list of MistServer triggers streamctl handles. The build makes one program per entry
// (bin/<program> → dist/<program>.js), mist-trigger dispatches through it, and `mist apply`
// configures MistServer from it (wiring/plan.ts). Imports nothing, so the hot path pays only for this object (the
// one-line descriptions for docs and the CLI are in summaries.ts, off the hot path).

/**
 * What MistServer does with the answer: informative triggers are not answered (MistServer ignores
 * stdout), allow/deny triggers answer `true` or `false`, value triggers answer a stream name, a
 * push target or a path (empty means "refused", or for some "keep MistServer's own choice").
 */
export type TriggerKind = 'informative' | 'allow-deny' | 'value';

export interface TriggerSpec {
  /** Program name in bin/ and dist/, and the source file src/triggers/<program>.ts. */
  program: string;
  /** MistServer waits for the answer (sync) instead of ignoring it. */
  blocking: boolean;
  /** Which answers `decide` may give (see answer.ts). */
  kind: TriggerKind;
  /**
   * What the program prints when anything goes wrong, and the explicit `default` streamctl
   * configures in MistServer (an empty default there means `true`, i.e. fail-open).
   */
  refusal: string;
}

/** Every trigger streamctl handles, by MistServer's trigger name. */
export const TRIGGERS = {
  PUSH_REWRITE: {
    program: 'push-rewrite',
    blocking: true,
    kind: 'value',
    refusal: '',
  },
  RTMP_PUSH_REWRITE: {
    program: 'rtmp-push-rewrite',
    blocking: true,
    kind: 'value',
    refusal: '',
  },
  USER_NEW: {
    program: 'user-new',
    blocking: true,
    kind: 'allow-deny',
    refusal: 'false',
  },
  PUSH_OUT_START: {
    program: 'push-out-start',
    blocking: true,
    kind: 'value',
    refusal: '',
  },
  RECORDING_END: {
    program: 'recording-end',
    blocking: false,
    kind: 'informative',
    refusal: '',
  },
  STREAM_SOURCE: {
    program: 'stream-source',
    blocking: true,
    kind: 'value',
    refusal: '',
  },
  DEFAULT_STREAM: {
    program: 'default-stream',
    blocking: true,
    kind: 'value',
    refusal: '',
  },
  STREAM_BUFFER: {
    program: 'stream-buffer',
    blocking: false,
    kind: 'informative',
    refusal: '',
  },
  STREAM_END: {
    program: 'stream-end',
    blocking: false,
    kind: 'informative',
    refusal: '',
  },
  USER_END: {
    program: 'user-end',
    blocking: false,
    kind: 'informative',
    refusal: '',
  },
} as const satisfies Record<string, TriggerSpec>;

export type TriggerName = keyof typeof TRIGGERS;

/**
 * The programs an edge runs instead (origin + edges). An edge has no database: these read
 * the origin's replicated data from the edge's local Redis replica (src/edge). Same trigger names,
 * blocking flags, kinds and refusals as above; `mist apply --role edge` points MistServer at them.
 */
export const EDGE_TRIGGERS = {
  USER_NEW: {
    program: 'edge-user-new',
    blocking: true,
    kind: 'allow-deny',
    refusal: 'false',
  },
  USER_END: {
    program: 'edge-user-end',
    blocking: false,
    kind: 'informative',
    refusal: '',
  },
  STREAM_BUFFER: {
    program: 'edge-stream-buffer',
    blocking: false,
    kind: 'informative',
    refusal: '',
  },
  STREAM_SOURCE: {
    program: 'edge-stream-source',
    blocking: true,
    kind: 'value',
    refusal: '',
  },
} as const satisfies { [N in TriggerName]?: TriggerSpec & Omit<(typeof TRIGGERS)[N], 'program'> };

export type EdgeTriggerName = keyof typeof EDGE_TRIGGERS;

/** The kind of the trigger named N. */
export type KindOf<N extends TriggerName> = (typeof TRIGGERS)[N]['kind'];

/** True when name is a trigger streamctl handles. */
export function isTriggerName(name: string): name is TriggerName {
  return Object.hasOwn(TRIGGERS, name);
}
