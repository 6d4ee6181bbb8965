// Waiting for a condition in the unit and process layers, instead of a fixed sleep before asserting:
// a loaded machine makes any fixed wait too short sometimes, and a quiet one pays it in full.

/** Polls `fn` until it returns a truthy value; throws naming `what` after `timeoutMs`. */
export async function waitUntil<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 10_000, everyMs = 20): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(v)})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
