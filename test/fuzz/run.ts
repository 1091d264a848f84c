/**
 * `npm run fuzz [runs] [seed]`: the fuzz properties (test/support/fuzz.ts, fuzz-grammar.ts) on
 * many inputs — 100,000 mutated OpenQASM programs, 20,000 manifests and 20,000 generated
 * programs by default — reporting the seed to replay a failure, the slowest refusal and the
 * peak memory; exits 1 on a failure or when memory passed 1.5 GB.
 */
import fc from 'fast-check';
import { manifestHolds, mutated, mutatedYaml, qasmHolds, qasmSeeds, yamlSeeds } from '../support/fuzz.ts';
import { generatedHolds, generatedProgram, generatedStats } from '../support/fuzz-grammar.ts';

const runs = Number(process.argv[2] ?? 100_000);
const seed = Number(process.argv[3] ?? Date.now() % 2 ** 31);
const MAX_RSS = 1.5 * 1024 ** 3;
let peak = 0;
const watch = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 200);

function run(name: string, property: fc.IProperty<[string]>, numRuns: number): boolean {
  const started = performance.now();
  const details = fc.check(property, { seed, numRuns });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (details.failed) {
    process.stdout.write(
      `${name}: FAILED after ${details.numRuns} inputs (seed ${seed}, path ${details.counterexamplePath})\n`,
    );
    process.stdout.write(
      `  ${String(details.errorInstance)}\n  input: ${JSON.stringify(details.counterexample?.[0])}\n`,
    );
    return false;
  }
  process.stdout.write(`${name}: ${details.numRuns} inputs held in ${seconds} s (seed ${seed})\n`);
  return true;
}

const ok =
  run('OpenQASM front end', fc.property(mutated(qasmSeeds()), qasmHolds), runs) &&
  run('manifest reader', fc.property(mutatedYaml(yamlSeeds()), manifestHolds), Math.ceil(runs / 5)) &&
  run('generated programs (cost oracle)', fc.property(generatedProgram, generatedHolds), Math.ceil(runs / 5));
const { inputs, refused, slowestRefusalMs, slowestAcceptedMs } = generatedStats;
process.stdout.write(
  `generated: ${inputs} inputs, ${refused} refused (slowest refusal ${Math.round(slowestRefusalMs)} ms), ` +
    `slowest accepted check ${Math.round(slowestAcceptedMs)} ms\n`,
);
clearInterval(watch);
peak = Math.max(peak, process.memoryUsage.rss());
process.stdout.write(`peak memory ${(peak / 1024 ** 2).toFixed(0)} MiB (limit ${MAX_RSS / 1024 ** 2} MiB)\n`);
process.exitCode = ok && peak <= MAX_RSS ? 0 : 1;
