/** "Did you mean": the candidates a typed word is close to (two edits, or a prefix of one). */

/** Levenshtein distance. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        (previous[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = row;
  }
  return previous[b.length] as number;
}

export function closeMatches(typed: string, candidates: readonly string[]): string[] {
  return candidates.filter((c) => editDistance(typed, c) <= 2 || (typed.length > 1 && c.startsWith(typed)));
}
