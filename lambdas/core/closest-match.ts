/**
 * "Did you mean …?" for names a person types: CLI flags and subcommands, CDK context keys. Pure; no I/O.
 */

/**
 * Edit distance with adjacent transpositions (optimal string alignment): insertions, deletions, substitutions and
 * swapping two neighbouring letters (`prot` → `port`, the commonest typo) each cost 1.
 */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const at = (r: number, c: number) => rows[r]?.[c] ?? row[c] ?? 0;
      let best = Math.min(at(i - 1, j) + 1, (row[j - 1] ?? 0) + 1, at(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      row.push(best);
    }
    rows.push(row);
  }
  return rows[a.length]?.[b.length] ?? 0;
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
