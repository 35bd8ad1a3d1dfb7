const BAR_WIDTH = 24;
const REDRAW_INTERVAL_MS = 100;

/** Where a progress line is drawn (stderr); only strings are written. */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(chunk: string): boolean;
}

/** A one-line progress bar the commands redraw on a terminal. */
export interface ProgressLine {
  /** Redraws `[####----] 42% · <detail>` (at most every 100 ms); `fraction` is clamped to [0, 1]. */
  draw(fraction: number, detail: string): void;
  /** Erases the line, if one was drawn. */
  clear(): void;
}

/** Draws on a TTY only, so logs and pipes stay clean. */
export function createProgressLine(stream: ProgressStream, now: () => number = Date.now): ProgressLine {
  if (stream.isTTY !== true) return { draw: () => undefined, clear: () => undefined };
  let lastDraw = 0;
  let drawn = false;
  return {
    draw(fraction, detail) {
      if (now() - lastDraw < REDRAW_INTERVAL_MS) return;
      lastDraw = now();
      const clamped = Math.min(1, Math.max(0, fraction));
      const filled = Math.round(clamped * BAR_WIDTH);
      const line = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${Math.round(clamped * 100)}% · ${detail}`;
      stream.write(`\r${line.slice(0, Math.max(20, (stream.columns ?? 120) - 1))}\u001b[K`);
      drawn = true;
    },
    clear() {
      if (drawn) stream.write('\r\u001b[K');
      drawn = false;
    },
  };
}
