/**
 * "Did you mean …?" for names a person types: CLI flags and subcommands, CDK context keys. Pure; no I/O.
 */

/** Levenshtein distance: insertions, deletions and substitutions each cost 1. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * The candidate nearest to `word` (case-insensitive), when it is near enough to be a typo: at most one edit for
 * short words, a third of the word's length for longer ones. Ties go to the earlier candidate.
 */
export function closestMatch(word: string, candidates: Iterable<string>): string | undefined {
  const typed = word.toLowerCase();
  const allowed = Math.max(1, Math.floor(typed.length / 3));
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(typed, candidate.toLowerCase());
    if (distance <= allowed && (best === undefined || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

/** ` (did you mean X?)` for a near candidate, else ''. */
export function didYouMean(word: string, candidates: Iterable<string>, render: (candidate: string) => string = (candidate) => candidate): string {
  const match = closestMatch(word, candidates);
  return match === undefined ? '' : ` (did you mean ${render(match)}?)`;
}
