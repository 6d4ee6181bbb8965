// PUSH_REWRITE (blocking, every ingest protocol): the parsed stream name is the stream key.
//   line 1: push URL (for RTMP the possibly rewritten URL; for RTSP it may come out mangled)
//   line 2: client host (SRT sends IPv4-mapped IPv6, e.g. ::ffff:127.0.0.1)
//   line 3: parsed stream name, i.e. what the broadcaster typed as key (empty when none)
// Answer: the stream name to publish to, `<base>+<user>`; empty refuses the push.
// No trailing newline: MistServer would make it part of the stream name (captures 08, 09).
import { expectLines } from './payload';
import { admitPush } from '../ingest/admit-push';
import type { Trigger } from './types';

export interface PushRewriteEvent {
  url: string;
  host: string;
  streamName: string;
}

const pushRewrite: Trigger<PushRewriteEvent> = {
  name: 'PUSH_REWRITE',
  parse(payload) {
    const [url, host, streamName] = expectLines('PUSH_REWRITE', payload, 3) as [string, string, string];
    return { url, host, streamName };
  },
  decide(event, ctx) {
    return admitPush(ctx, 'PUSH_REWRITE', event.streamName, event.host) ?? '';
  },
};

export default pushRewrite;
