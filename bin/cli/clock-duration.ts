/**
 * Seconds as a clock reading, for the terminal (`conversations`) and the viewer's page alike; no Node imports, so the
 * page's bundle can take it.
 */

/** `1:05`, `1:02:03`; undefined for a value that is not a duration. */
export function clockDuration(secs: number | undefined): string | undefined {
  if (secs === undefined || !Number.isFinite(secs) || secs < 0) return undefined;
  const whole = Math.round(secs);
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const seconds = String(whole % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}
