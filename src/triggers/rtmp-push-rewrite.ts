// RTMP_PUSH_REWRITE (blocking, RTMP only, before MistServer parses anything):
//   line 1: the RTMP URL: the client's tcUrl + "/" + stream key, e.g. rtmp://host:1935/live/<key>
//   line 2: client host
// Answer: a URL whose last path segment is `<base>+<user>` (MistServer reads only the text after
// the last "/"); empty refuses. Install this OR PUSH_REWRITE, not both: PUSH_REWRITE would then
// see the rewritten name instead of the key and refuse every RTMP push.
import { PayloadError } from '../lib/errors';
import { expectLines, normaliseIp } from './payload';
import { admitPush } from '../ingest/admit-push';
import { DENY, value } from './answer';
import type { Trigger } from './types';

/** MistServer's name for this trigger: every message and lookup uses it. */
const TRIGGER = 'RTMP_PUSH_REWRITE';

export interface RtmpPushRewriteEvent {
  /** The URL up to and including the last "/" before the key, query removed. */
  base: string;
  key: string;
  host: string;
}

const rtmpPushRewrite: Trigger<RtmpPushRewriteEvent, typeof TRIGGER> = {
  name: TRIGGER,
  parse(payload) {
    const [url, host] = expectLines(TRIGGER, payload, 2) as [string, string];
    const withoutQuery = url.split('?', 1)[0]!;
    const slash = withoutQuery.lastIndexOf('/');
    if (slash < 0) throw new PayloadError(`${TRIGGER} payload line 1 is not a URL`);
    return { base: withoutQuery.slice(0, slash + 1), key: withoutQuery.slice(slash + 1), host };
  },
  decide(event, ctx) {
    const toAnswer = (stream: string | null) => (stream === null ? DENY : value(event.base + stream));
    const stream = admitPush(ctx, TRIGGER, event.key, normaliseIp(event.host));
    // A promise only when the channel may be live (MistServer is asked first: second-push policy).
    return typeof stream === 'object' && stream !== null ? stream.then(toAnswer) : toAnswer(stream);
  },
};

export default rtmpPushRewrite;
