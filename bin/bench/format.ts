/** How the benchmark tables write their numbers: every value carries its unit. */

const wholeNumber = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** 12,345 */
export function formatCount(value: number): string {
  return wholeNumber.format(value);
}

/** `12,345/s`; below 100 with one decimal. */
export function formatPerSecond(value: number): string {
  return `${value < 100 ? value.toFixed(1) : wholeNumber.format(value)}/s`;
}

/** `0.42 ms`, `4.2 ms`, `42 ms`, `4,200 ms`. */
export function formatMs(value: number): string {
  if (value < 1) return `${value.toFixed(2)} ms`;
  if (value < 10) return `${value.toFixed(1)} ms`;
  return `${wholeNumber.format(value)} ms`;
}

/** `512 B`, `8.0 KiB`, `1.00 MiB`. */
export function formatBytes(value: number): string {
  if (value < 1024) return `${Math.round(value)} B`;
  if (value < 1024 * 1024) return `${(value / 1024).toFixed(1)} KiB`;
  return `${(value / (1024 * 1024)).toFixed(2)} MiB`;
}

/** `1.85×` */
export function formatRatio(value: number): string {
  return `${value.toFixed(2)}×`;
}
