import { describe, expect, it } from 'vitest';
import { formatMoney, parseMoney } from '../../shared/money.ts';

describe('money', () => {
  it.each([
    ['$10,000.00', 10_000_000_000],
    ['$5', 5_000_000],
    ['$0.0009', 900],
    ['$1,234.56', 1_234_560_000],
    ['$0.000001', 1],
  ])('parses %s into micro-dollars', (text, micros) => {
    expect(parseMoney(text)).toBe(micros);
  });

  it.each([
    ['10 dollars', /not an amount of money/],
    ['-$5', /negative/],
    ['$1,00.00', /not an amount of money/],
    ['$0.0000001', /not an amount of money/],
    ['5', /not an amount of money/],
  ])('rejects %s with a message naming the field', (text, message) => {
    expect(() => parseMoney(text, 'spec.limit')).toThrow(message);
    expect(() => parseMoney(text, 'spec.limit')).toThrow(/^spec\.limit: /);
  });

  it('formats cents always and sub-cent digits only when present', () => {
    expect(formatMoney(1_234_560_000)).toBe('$1,234.56');
    expect(formatMoney(0)).toBe('$0.00');
    expect(formatMoney(1_450)).toBe('$0.00145');
    expect(formatMoney(7_512_400_000)).toBe('$7,512.40');
  });

  it('round-trips every formatted amount', () => {
    for (const micros of [0, 1, 999, 1_000_000, 123_456_789, 10_000_000_000]) {
      expect(parseMoney(formatMoney(micros))).toBe(micros);
    }
  });
});
