/** Counts as a text histogram for the terminal. */

/** Renders counts most frequent first, with bars scaled to `width` and percentages. */
export function renderHistogram(
  counts: Record<string, number>,
  options: { width?: number; maxRows?: number } = {},
): string {
  const width = options.width ?? 40;
  const maxRows = options.maxRows ?? 16;
  const rows = Object.entries(counts).sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1));
  if (rows.length === 0) return '  (no counts)';
  const total = rows.reduce((sum, [, n]) => sum + n, 0);
  const top = rows[0]?.[1] ?? 1;
  const keyWidth = Math.max(...rows.slice(0, maxRows).map(([k]) => k.length));
  const countWidth = String(top).length;
  const lines = rows.slice(0, maxRows).map(([key, n]) => {
    const bar = '█'.repeat(Math.max(n > 0 ? 1 : 0, Math.round((n / top) * width)));
    const percent = ((100 * n) / total).toFixed(1).padStart(5);
    return `  ${key.padStart(keyWidth)}  ${String(n).padStart(countWidth)}  ${percent}%  ${bar}`;
  });
  if (rows.length > maxRows) lines.push(`  … ${rows.length - maxRows} more outcomes`);
  return lines.join('\n');
}
