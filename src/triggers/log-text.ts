// How trigger programs show untrusted text in their log lines, written once for the one-box and
// the edge programs: a stream name's part after "+" comes from the viewer or publisher as sent.

/** A stream name as it may appear in a log line: quoted, escaped, cut short. */
export function shownStream(stream: string): string {
  return JSON.stringify(stream.slice(0, 80));
}

/** A viewer in a log line: the address, and the verified viewer id when a token named one (quoted, cut short). */
export function shownViewer(ip: string, viewer: string | null): string {
  return `${ip || 'unknown address'}${viewer !== null ? ` (viewer ${JSON.stringify(viewer.slice(0, 64))})` : ''}`;
}
