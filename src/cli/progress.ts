// A one-line progress bar on stderr, drawn only when stderr is a terminal (never in cron mail or pipes).

export interface Progress {
  update(done: number, total: number): void;
  done(): void;
}

const WIDTH = 30;
const MIN_REDRAW_MS = 100;

/** A progress bar labelled `label`, or a no-op when stderr is not a terminal. */
export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { update() {}, done() {} };
  let lastDraw = 0;
  let drawn = false;
  return {
    update(done, total) {
      const now = Date.now();
      if (done < total && now - lastDraw < MIN_REDRAW_MS) return;
      lastDraw = now;
      const filled = total === 0 ? WIDTH : Math.round((done / total) * WIDTH);
      stream.write(`\r${label} [${'#'.repeat(filled)}${' '.repeat(WIDTH - filled)}] ${done}/${total}`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write('\r\x1b[2K');
    },
  };
}
