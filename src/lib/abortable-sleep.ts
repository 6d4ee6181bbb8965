// A wait that a long-running loop's stop signal (SIGTERM) cuts short: the relay and the edge's tag
// watcher sleep between passes and must exit at once when systemd stops them.

/** Resolves after ms, or as soon as signal aborts (never rejects). */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}
