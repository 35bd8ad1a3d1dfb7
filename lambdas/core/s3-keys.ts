/** S3 key building shared by the archive (`events/`) and the record's objects (`audio/`, `transcripts/`). */

/** How one caller shapes a segment: its length cap and what stands for a missing or empty value. */
export interface KeySegmentOptions {
  /** Longest segment kept; longer values are cut (the hash beside the segment keeps keys distinct). */
  readonly maxChars: number;
  /** The segment for an absent value, or one that is empty after cutting. */
  readonly fallback: string;
}

const UNSAFE_KEY_CHARACTERS = /[^A-Za-z0-9_.-]/g;

/**
 * `value` as one safe key segment: every character outside `A-Z a-z 0-9 _ . -` becomes `_`, so an id can never add a
 * `/` (another key level) or characters that need escaping in URLs and shells.
 */
export function keySegment(value: string | undefined, options: KeySegmentOptions): string {
  if (value === undefined) return options.fallback;
  return value.replace(UNSAFE_KEY_CHARACTERS, '_').slice(0, options.maxChars) || options.fallback;
}
