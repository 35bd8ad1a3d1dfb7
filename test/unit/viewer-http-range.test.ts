/**
 * The viewer's Range header rules (RFC 9110 §14): what a player's request becomes before anything is asked of S3.
 */
import { describe, expect, it } from 'vitest';
import { resolveRange } from '../../bin/viewer/http-range.js';

describe('resolveRange', () => {
  it.each([
    ['bytes=0-', { start: 0, end: 999 }],
    ['bytes=100-199', { start: 100, end: 199 }],
    ['bytes=999-999', { start: 999, end: 999 }],
    ['bytes=900-5000', { start: 900, end: 999 }],
    ['bytes=-100', { start: 900, end: 999 }],
    // Longer than the resource: all of it (S3 agrees; its emulator answers 416, so such a range never reaches it).
    ['bytes=-5000', { start: 0, end: 999 }],
    [' bytes=10-20 ', { start: 10, end: 20 }],
  ])('serves %s of a 1,000-byte recording as bytes %o', (header, range) => {
    // Act + Assess
    expect(resolveRange(header, 1000)).toEqual({ kind: 'partial', range });
  });

  it.each(['bytes=1000-', 'bytes=1000-2000', 'bytes=-0'])('refuses %s, which holds none of a 1,000-byte recording', (header) => {
    // Act + Assess
    expect(resolveRange(header, 1000)).toEqual({ kind: 'unsatisfiable' });
  });

  it('finds nothing to serve of an empty recording', () => {
    // Act + Assess
    expect(resolveRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
    expect(resolveRange('bytes=-10', 0)).toEqual({ kind: 'unsatisfiable' });
  });

  it.each([undefined, '', 'bytes=-', 'bytes=20-10', 'bytes=0-1,5-6', 'items=0-10', 'bytes=a-b', 'bytes 0-10'])('sends the whole recording for %j (absent, malformed or several ranges)', (header) => {
    // Act + Assess
    expect(resolveRange(header, 1000)).toEqual({ kind: 'whole' });
  });
});
