// The `open` tag on a live stream (the fast path, docs/access-control.md): the API requests that
// set and clear it, and a fire-and-forget sender for trigger programs over MistServer's local UDP
// API. That UDP port is fixed when MistServer is built (4242, loopback only, no login; its log
// says "Local UDP API bound on [::ffff:127.0.0.1]:4242") and every trigger runs on MistServer's
// host, so the triggers need no setting to reach it. UDP gives no answer: a lost datagram leaves
// the stream untagged, i.e. checked by USER_NEW as before (fails closed).
import { createSocket } from 'node:dgram';
import { udpApiPortOverride } from '../config';

/** The tag MistServer's USER_NEW filter (`!#open`) skips. */
export const OPEN_TAG = 'open';

/** USER_NEW's streams filter: every stream except the ones tagged open. */
export const USER_NEW_STREAMS = [`!#${OPEN_TAG}`];

/**
 * The tag on a live stream whose channel does not record. The recording auto-push is inhibited for
 * streams so tagged (`inhibit: "#norecord"`): MistServer retries an auto-push whose PUSH_OUT_START
 * answered no target every `push_settings.wait` (3) s for as long as the stream is live (its
 * runPushCheck), and checks the inhibitor before each retry, so the tag stops them.
 */
export const NO_RECORD_TAG = 'norecord';

/** The recording push's `inhibit`: streams tagged NO_RECORD_TAG. */
export const RECORDING_INHIBIT = `#${NO_RECORD_TAG}`;

/** MistServer's local UDP API (fixed at build time, loopback). */
export const UDP_API_PORT = 4242;
const UDP_API_HOST = '127.0.0.1';

/**
 * How long an untag takes to reach MistServer's session re-checks (300 ms measured on the real
 * server; margin for load): a re-check sent sooner may still see the stream as open.
 */
export const UNTAG_SETTLE_MS = 1000;

/**
 * The wait in force: UNTAG_SETTLE_MS, except in process tests of the requests' order, which set
 * `ms` lower (test/support/setup.ts); the real-server layer keeps the real wait.
 */
export const untagSettle = { ms: UNTAG_SETTLE_MS };

/** The address is a literal: skip dns.lookup (its thread pool start costs a short process ~10 ms). */
const loopback = (_host: string, _opts: unknown, cb: (err: Error | null, address: string, family: number) => void) =>
  cb(null, UDP_API_HOST, 4);

/** The API request that tags (open) or untags (not open) a live stream. */
export function tagRequest(stream: string, open: boolean): Record<string, Record<string, string>> {
  return open ? { tag_stream: { [stream]: OPEN_TAG } } : { untag_stream: { [stream]: OPEN_TAG } };
}

/**
 * One request that sets both of a live stream's tags by its channel: `open` when open, `norecord`
 * when it does not record (MistServer takes tag_stream and untag_stream in one request, each a list
 * per stream).
 */
export function channelTagsRequest(stream: string, tags: { open: boolean; record: boolean }): Record<string, Record<string, string[]>> {
  const set: string[] = [];
  const clear: string[] = [];
  (tags.open ? set : clear).push(OPEN_TAG);
  (tags.record ? clear : set).push(NO_RECORD_TAG);
  return { ...(set.length ? { tag_stream: { [stream]: set } } : {}), ...(clear.length ? { untag_stream: { [stream]: clear } } : {}) };
}

/** The request that tags (recording off) or untags (on) a live stream's `norecord`. */
export function recordTagRequest(stream: string, record: boolean): Record<string, Record<string, string>> {
  return record ? { untag_stream: { [stream]: NO_RECORD_TAG } } : { tag_stream: { [stream]: NO_RECORD_TAG } };
}

/**
 * Sends one API request over the local UDP API and resolves once the datagram has left (true) or
 * after `timeoutMs` (false). Never throws: tagging must never fail what it rides on.
 */
export function sendUdpApi(body: Record<string, unknown>, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      try {
        socket.close();
      } catch {
        // already closed
      }
      resolve(ok);
    };
    const socket = createSocket({ type: 'udp4', lookup: loopback });
    socket.on('error', () => finish(false));
    timer = setTimeout(() => finish(false), timeoutMs);
    try {
      socket.send(JSON.stringify(body), udpApiPortOverride() ?? UDP_API_PORT, UDP_API_HOST, (err) => finish(!err));
    } catch {
      finish(false);
    }
  });
}
