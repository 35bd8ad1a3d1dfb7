/**
 * The `Range` request header for one resource of known size (RFC 9110 §14), resolved here rather than left to S3 or
 * its emulator, which differ on suffix ranges longer than the object. One range is served; a header asking for
 * several, or one that does not parse, is ignored (the whole resource is sent), as the RFC allows.
 */
import type { ByteRange } from '../../lambdas/core/record/conversation-reader.js';

export type RangeRequest =
  /** No usable Range header: send the whole resource (200). */
  | { readonly kind: 'whole' }
  /** Send these bytes (206). */
  | { readonly kind: 'partial'; readonly range: ByteRange }
  /** Nothing of the resource is inside the range (416, with the size in `Content-Range`). */
  | { readonly kind: 'unsatisfiable' };

const SINGLE_RANGE = /^bytes=(\d*)-(\d*)$/;

export function resolveRange(header: string | undefined, size: number): RangeRequest {
  const match = header === undefined ? null : SINGLE_RANGE.exec(header.trim());
  if (match === null) return { kind: 'whole' };
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return { kind: 'whole' };
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', range: { start: Math.max(0, size - suffix), end: size - 1 } };
  }
  const start = Number(first);
  if (last !== '' && Number(last) < start) return { kind: 'whole' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', range: { start, end: last === '' ? size - 1 : Math.min(Number(last), size - 1) } };
}
