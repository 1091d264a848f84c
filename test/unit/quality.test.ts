import { describe, expect, it } from 'vitest';
import { resultQuality } from '../../shared/quality.ts';

describe('a device result against the ideal distribution', () => {
  const bell = { '00': 0.5, '11': 0.5 };

  it('is 1 and 0 for counts that match the ideal', () => {
    expect(resultQuality({ '00': 512, '11': 512 }, bell)).toEqual({ hellingerFidelity: 1, totalVariationDistance: 0 });
  });

  it("matches Qiskit's hellinger_fidelity and the total variation distance on worked cases", () => {
    // One outcome only: Bhattacharyya coefficient sqrt(0.5), squared 0.5; half the mass is misplaced.
    expect(resultQuality({ '00': 1000 }, bell)).toEqual({ hellingerFidelity: 0.5, totalVariationDistance: 0.5 });
    // Disjoint supports.
    expect(resultQuality({ '01': 7, '10': 3 }, bell)).toEqual({ hellingerFidelity: 0, totalVariationDistance: 1 });
    // Noisy Bell counts: (sqrt(0.45*0.5) + sqrt(0.45*0.5))^2 = 0.9, TVD = (0.05 + 0.05 + 0.05 + 0.05) / 2 = 0.1.
    expect(resultQuality({ '00': 450, '11': 450, '01': 50, '10': 50 }, bell)).toEqual({
      hellingerFidelity: 0.9,
      totalVariationDistance: 0.1,
    });
  });
});
