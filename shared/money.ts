import { InvalidInputError } from './errors.ts';

/** Money is integer micro-dollars inside qpipe, so sums never drift by a float rounding. */
export type MicroDollars = number;

/** Micro-dollars in one dollar. */
export const MICRO_PER_DOLLAR = 1_000_000;

/** A dollar amount as manifests and events write it: "$10,000.00", "$5", "$0.0009". */
export const MONEY_PATTERN = String.raw`^\$(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,6}))?$`;
const MONEY = new RegExp(MONEY_PATTERN);

/**
 * Parses a money string as manifests write it ("$10,000.00", "$5", "$0.0009") into
 * micro-dollars. `where` names the field in the error.
 */
export function parseMoney(text: string, where = 'money'): MicroDollars {
  const trimmed = text.trim();
  if (trimmed.startsWith('-')) {
    throw new InvalidInputError(where, `"${text}" is negative; amounts must be zero or more, like "$5.00"`);
  }
  const match = MONEY.exec(trimmed);
  if (!match) {
    throw new InvalidInputError(
      where,
      `"${text}" is not an amount of money; write dollars like "$10,000.00" or "$5" (at most 6 decimals)`,
    );
  }
  const whole = (match[1] ?? '0').replaceAll(',', '');
  const fraction = (match[2] ?? '').padEnd(6, '0');
  const micro = Number(whole) * MICRO_PER_DOLLAR + Number(fraction);
  if (!Number.isSafeInteger(micro)) {
    throw new InvalidInputError(where, `"${text}" is too large`);
  }
  return micro;
}

/**
 * Formats micro-dollars as "$1,234.56". Cents are always shown; sub-cent digits are shown
 * only when present (per-shot prices such as "$0.00145").
 */
export function formatMoney(micro: MicroDollars): string {
  const sign = micro < 0 ? '-' : '';
  const abs = Math.abs(Math.round(micro));
  const dollars = Math.floor(abs / MICRO_PER_DOLLAR);
  let fraction = String(abs % MICRO_PER_DOLLAR).padStart(6, '0');
  fraction = fraction.replace(/0+$/, '').padEnd(2, '0');
  return `${sign}$${dollars.toLocaleString('en-US')}.${fraction}`;
}

/** Money with exactly `decimals` decimals (rounded up, as an estimate must never be below the bill), for columns. */
export function formatMoneyFixed(micro: MicroDollars, decimals: number): string {
  const step = 10 ** (6 - decimals);
  const rounded = Math.ceil(Math.round(micro) / step) * step;
  const sign = rounded < 0 ? '-' : '';
  const abs = Math.abs(rounded);
  const dollars = Math.floor(abs / MICRO_PER_DOLLAR);
  const fraction = String(abs % MICRO_PER_DOLLAR)
    .padStart(6, '0')
    .slice(0, decimals);
  return `${sign}$${dollars.toLocaleString('en-US')}${decimals > 0 ? `.${fraction}` : ''}`;
}
