import fc from 'fast-check';
import { describe, it } from 'vitest';
import { corpusPresent } from '../support/corpus.ts';
import { manifestHolds, mutated, mutatedYaml, qasmHolds, qasmSeeds, yamlSeeds } from '../support/fuzz.ts';
import { generatedHolds, generatedProgram, generatedRuns } from '../support/fuzz-grammar.ts';

// A seeded slice of `npm run fuzz`: the same properties on a few thousand generated inputs.
const SEED = 20261130;

describe('fuzzing the front ends (fast-check, seeded; inputs mutated from the shared corpus and the examples)', () => {
  it.skipIf(!corpusPresent)(
    'OpenQASM: every mutated program is compiled or refused with an InvalidInputError, each within a second',
    () => {
      fc.assert(fc.property(mutated(qasmSeeds()), qasmHolds), { seed: SEED, numRuns: 5000 });
    },
  );

  it('manifests: every mutated file is read or refused with an InvalidInputError, each within a second', () => {
    fc.assert(fc.property(mutatedYaml(yamlSeeds()), manifestHolds), { seed: SEED, numRuns: 1000 });
  });

  it('generated programs (modifiers over definitions, nested loops, measurements in loops, long chains): refused in bounded time, or within the limits they were promised', () => {
    fc.assert(fc.property(generatedProgram, generatedHolds), { seed: SEED, numRuns: 300 });
  });

  it('generated programs that are accepted run, each within seconds', async () => {
    await fc.assert(fc.asyncProperty(generatedProgram, generatedRuns), { seed: SEED, numRuns: 100 });
  });
});
