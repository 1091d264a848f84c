/** Durations as manifests write them ("90s", "15m", "1h30m", "2d", "500ms"). */
import { InvalidInputError } from './errors.ts';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * The longest duration qpipe takes: ten years. Durations are added to dates (a held job's
 * deadline, a session's end), and a date holds only about 285,000 years from 1970.
 */
export const MAX_DURATION_MS = 3650 * 86_400_000;

/** Parses a duration into milliseconds; `where` names the field in errors. */
export function parseDuration(text: string, where: string): number {
  const parts = [...text.matchAll(/(\d+)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new InvalidInputError(where, `"${text}" is not a duration like "90s", "15m" or "1h30m"`);
  }
  const ms = parts.reduce((sum, [, n, unit]) => sum + Number(n) * (UNIT_MS[unit as string] ?? 0), 0);
  if (!(ms <= MAX_DURATION_MS)) {
    throw new InvalidInputError(where, `"${text}" is longer than the longest duration qpipe takes (3650d)`);
  }
  return ms;
}

/** A duration for people: "1h 30m", "45s", "250ms". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  const parts: string[] = [];
  let rest = Math.round(ms / 1000) * 1000;
  for (const [unit, size] of units) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join(' ');
}
