/**
 * Fuzzing the front ends (fast-check, seeded): OpenQASM sources and manifest YAML generated
 * by mutating real inputs (the shared corpus and the examples), each checked for what must
 * hold whatever the input: it is accepted, or refused with an InvalidInputError naming the
 * problem; nothing else is thrown (no TypeError, no stack overflow), nothing takes a second.
 * Used by the suite (a few thousand inputs) and by `npm run fuzz` (100,000 and more).
 */
import { readFileSync, statSync } from 'node:fs';
import fc from 'fast-check';
import { loadConfig } from '../../shared/config.ts';
import { InvalidInputError } from '../../shared/errors.ts';
import { parseYamlDocuments } from '../../shared/manifests.ts';
import { compileQasm } from '../../shared/qasm/index.ts';
import { parseResource } from '../../shared/resources/validate.ts';
import { corpusFiles } from './corpus.ts';

/** The slowest a single input may take. */
export const MAX_MS_PER_INPUT = 1000;

/** Limits small enough that every accepted input also runs quickly; the checks are what is fuzzed. */
const LIMITS = { ...loadConfig({}).circuitLimits, maxGates: 200_000, maxLoopIterations: 200_000 };

/** Seed programs: the corpus's small files (large ones make each run slow without finding more). */
export function qasmSeeds(): string[] {
  const files = [...corpusFiles('qasmbench', '.qasm'), ...corpusFiles('openqasm3', '.qasm')];
  return files.filter((f) => statSync(f).size <= 16 * 1024).map((f) => readFileSync(f, 'utf8'));
}

/** Seed manifests: every example. */
export function yamlSeeds(): string[] {
  const root = new URL('../../examples/', import.meta.url).pathname;
  return ['bell.yaml', 'budget-demo.yaml', 'several-jobs.yaml', 'grover.yaml', 'qft.yaml'].map((f) =>
    readFileSync(root + f, 'utf8'),
  );
}

// Fragments that reach the front end's deep corners: nesting, modifiers, loops, big numbers.
const FRAGMENTS = [
  '(',
  ')',
  '{',
  '}',
  ';',
  '[',
  ']',
  '->',
  '@',
  'ctrl @ ',
  'negctrl(2) @ ',
  'inv @ ',
  'pow(1000000) @ ',
  'gate g a { g a; g a; }\n',
  'for int i in [0:99999999] { x q[0]; }\n',
  'creg c[2147483647];\n',
  'qreg q[99999999];\n',
  'if (c == 1) ',
  'measure q -> c;\n',
  '1e308',
  '-0',
  'NaN',
  'pi',
  '$0',
  '"',
  '//',
  '/*',
  '\u0000',
  '\u202e',
  'include "x.inc";\n',
  '((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((',
];
const YAML_FRAGMENTS = [
  ': ',
  '- ',
  '&a ',
  '*a ',
  '<<: *a\n',
  '---\n',
  '{',
  '}',
  '[',
  ']',
  '"',
  "'",
  '!!binary ',
  '\t',
  '\n  ',
  '~',
];

/** One edit of a text: insert, delete, duplicate or splice, at positions the generator chooses. */
function mutation(fragments: readonly string[]): fc.Arbitrary<(text: string) => string> {
  const at = fc.double({ min: 0, max: 1, noNaN: true });
  return fc.oneof(
    fc.tuple(at, fc.constantFrom(...fragments)).map(([p, piece]) => (t: string) => {
      const i = Math.floor(p * t.length);
      return t.slice(0, i) + piece + t.slice(i);
    }),
    fc.tuple(at, fc.integer({ min: 1, max: 40 })).map(([p, n]) => (t: string) => {
      const i = Math.floor(p * t.length);
      return t.slice(0, i) + t.slice(i + n);
    }),
    fc.tuple(at, at).map(([p, q]) => (t: string) => {
      const [i, j] = [Math.floor(p * t.length), Math.floor(q * t.length)].sort((x, y) => x - y) as [number, number];
      return t.slice(0, j) + t.slice(i, j) + t.slice(j);
    }),
    fc.tuple(at, fc.string({ unit: 'binary', maxLength: 8 })).map(([p, s]) => (t: string) => {
      const i = Math.floor(p * t.length);
      return t.slice(0, i) + s + t.slice(i);
    }),
  );
}

/** Mutated texts: a seed with one to eight edits. */
export function mutated(seeds: readonly string[], fragments = FRAGMENTS): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom(...seeds), fc.array(mutation(fragments), { minLength: 1, maxLength: 8 }))
    .map(([seed, edits]) => edits.reduce((text, edit) => edit(text), seed));
}

/** Manifests, by mutating the examples. */
export const mutatedYaml = (seeds: readonly string[]) => mutated(seeds, YAML_FRAGMENTS);

/** Throws unless `run` returned or threw an InvalidInputError, within the time allowed. */
function holds(what: string, input: string, run: () => void): void {
  const started = performance.now();
  try {
    run();
  } catch (error) {
    if (!(error instanceof InvalidInputError)) {
      throw new Error(`${what} threw ${(error as Error).name}: ${(error as Error).message}`, { cause: error });
    }
  }
  const ms = performance.now() - started;
  if (ms > MAX_MS_PER_INPUT) throw new Error(`${what} took ${Math.round(ms)} ms on a ${input.length}-character input`);
}

/** The property of the OpenQASM front end. */
export function qasmHolds(source: string): void {
  holds('compileQasm', source, () => compileQasm(source, { limits: LIMITS }));
}

/** The property of the manifest reader: YAML, then every document against the schemas. */
export function manifestHolds(text: string): void {
  holds('the manifest reader', text, () => {
    const { documents } = parseYamlDocuments(text, 'fuzz.yaml');
    for (const document of documents) {
      try {
        parseResource(document.value, 'fuzz.yaml');
      } catch (error) {
        if (!(error instanceof InvalidInputError)) throw error;
      }
    }
  });
}
