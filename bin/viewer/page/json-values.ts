/**
 * Reading a record whose shape is ElevenLabs' and may change: every field is checked for its type where it is used,
 * and anything unexpected reads as absent rather than breaking the page.
 */

export type JsonRecord = Readonly<Record<string, unknown>>;

export function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The objects of an array (anything else in it, or a non-array, is skipped). */
export function records(value: unknown): JsonRecord[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

/** The object at `path` under `value`, or an empty one. */
export function recordAt(value: unknown, ...path: string[]): JsonRecord {
  let current = value;
  for (const key of path) current = isRecord(current) ? current[key] : undefined;
  return isRecord(current) ? current : {};
}

/** A non-empty string, or a number written out; undefined otherwise. */
export function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined;
}

export function finiteNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
