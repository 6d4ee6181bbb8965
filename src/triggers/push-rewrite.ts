// PUSH_REWRITE (blocking, every ingest protocol): the parsed stream name is the stream key.
//   line 1: push URL (for RTMP the possibly rewritten URL; for RTSP it may come out mangled)
//   line 2: client host (SRT sends IPv4-mapped IPv6, e.g. ::ffff:127.0.0.1)
//   line 3: parsed stream name, i.e. what the broadcaster typed as key (empty when none)
// Answer: the stream name to publish to, `<base>+<user>`; empty refuses the push.
// No trailing newline: MistServer would make it part of the stream name (captures 08, 09).
import { expectLines, normaliseIp } from './payload';
import { admitPush } from '../ingest/admit-push';
import { DENY, value } from './answer';
import type { Trigger } from './types';

/** MistServer's name for this trigger: every message and lookup uses it. */
const TRIGGER = 'PUSH_REWRITE';

export interface PushRewriteEvent {
  url: string;
  host: string;
  streamName: string;
}

const toAnswer = (stream: string | null) => (stream === null ? DENY : value(stream));

const pushRewrite: Trigger<PushRewriteEvent, typeof TRIGGER> = {
  name: TRIGGER,
  parse(payload) {
    const [url, host, streamName] = expectLines(TRIGGER, payload, 3) as [string, string, string];
    return { url, host, streamName };
  },
  decide(event, ctx) {
    const stream = admitPush(ctx, TRIGGER, event.streamName, normaliseIp(event.host));
    // A promise only when the channel may be live (MistServer is asked first: second-push policy).
    return typeof stream === 'object' && stream !== null ? stream.then(toAnswer) : toAnswer(stream);
  },
};

export default pushRewrite;
