import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderExamples } from '../../examples/generate.ts';
import { renderCrdFiles } from '../../infra/crds/crd.ts';
import { parseResource, SchemaError } from '../../shared/resources/validate.ts';
import { jobManifest } from '../support/manifests.ts';

function problemsOf(document: unknown): { path: string; message: string }[] {
  try {
    parseResource(document);
  } catch (error) {
    if (error instanceof SchemaError) return [...error.problems];
    throw error;
  }
  throw new Error('the document was accepted');
}

describe('resource schemas', () => {
  it('accepts a minimal job and fills defaults', () => {
    const job = parseResource(jobManifest('bell', { execution: {} }));
    expect(job.kind).toBe('QiskitJob');
    expect(job.metadata.namespace).toBe('default');
    if (job.kind === 'QiskitJob') expect(job.spec.execution?.shots).toBe(1024);
  });

  it.each([
    ['a missing circuit', { circuit: undefined }, 'spec.circuit', /required/],
    ['shots of 0', { execution: { shots: 0 } }, 'spec.execution.shots', /at least 1 \(got 0\)/],
    ['too many shots', { execution: { shots: 100_001 } }, 'spec.execution.shots', /at most 100000/],
    ['an unknown backend type', { backend: { type: 'dwave' } }, 'spec.backend.type', /one of local_simulator/],
    ['money written in words', { budget: { maxCost: '10 dollars' } }, 'spec.budget.maxCost', /amount of money/],
    [
      'a negative weight',
      { backendSelection: { weights: { cost: -1 } } },
      'spec.backendSelection.weights.cost',
      /at least 0/,
    ],
    ['a misspelt field', { executon: { shots: 5 } }, 'spec.executon', /not a known field/],
    [
      'an inline circuit without code',
      { circuit: { source: 'inline' } },
      'spec.circuit.code',
      /required when spec.circuit.source is inline/,
    ],
    [
      'a configmap circuit without a ref',
      { circuit: { source: 'configmap' } },
      'spec.circuit.configMapRef',
      /required/,
    ],
  ])('names the field of %s', (_case, spec, path, message) => {
    const problems = problemsOf(jobManifest('bad', spec));
    const problem = problems.find((p) => p.path === path);
    expect(problem, JSON.stringify(problems)).toBeDefined();
    expect(problem?.message).toMatch(message);
  });

  it('names a wrong apiVersion before anything else', () => {
    expect(problemsOf({ ...jobManifest('x'), apiVersion: 'quantum.io/v2' })).toEqual([
      { path: 'apiVersion', message: 'must be quantum.io/v1 (got "quantum.io/v2")' },
    ]);
  });

  it('names an unknown kind', () => {
    expect(problemsOf({ apiVersion: 'quantum.io/v1', kind: 'QiskitThing' })[0]?.path).toBe('kind');
  });

  it('checks budgets: money, period and email', () => {
    const problems = problemsOf({
      apiVersion: 'quantum.io/v1',
      kind: 'QiskitBudget',
      metadata: { name: 'b' },
      spec: { limit: '-$5', period: 'yearly', notificationEmail: 'ops@example.com\nBcc: x@evil.test' },
    });
    expect(problems.map((p) => p.path).sort()).toEqual(['spec.limit', 'spec.notificationEmail', 'spec.period']);
  });
});

describe('generated files', () => {
  it('keeps the checked-in CRDs identical to what the schemas generate', async () => {
    for (const [name, text] of renderCrdFiles()) {
      const checkedIn = await readFile(new URL(`../../infra/crds/${name}`, import.meta.url), 'utf8');
      expect(checkedIn, `infra/crds/${name} is stale: run npm run gen`).toBe(text);
    }
  });

  it('generates structural CRDs with status, printer columns and short names', () => {
    const jobs = parse(renderCrdFiles().get('qiskitjobs.yaml') ?? '');
    const version = jobs.spec.versions[0];
    expect(jobs.spec.names.shortNames).toEqual(['qj']);
    expect(version.subresources).toEqual({ status: {} });
    expect(version.additionalPrinterColumns.map((c: { name: string }) => c.name)).toEqual([
      'Phase',
      'Backend',
      'Cost',
      'Age',
    ]);
    const schema = version.schema.openAPIV3Schema;
    const text = JSON.stringify(schema);
    // Structural: no unions, no additionalProperties beside properties.
    expect(text).not.toContain('anyOf');
    expect(text).not.toContain('"additionalProperties":false');
    expect(schema.properties.spec.properties.execution.properties.shots).toMatchObject({
      type: 'integer',
      minimum: 1,
      maximum: 100000,
      default: 1024,
    });
    expect(schema.properties.spec.properties.circuit['x-kubernetes-validations']).toHaveLength(3);
    const budgets = parse(renderCrdFiles().get('qiskitbudgets.yaml') ?? '');
    expect(budgets.spec.versions[0].additionalPrinterColumns.map((c: { name: string }) => c.name)).toEqual([
      'Spent',
      'Limit',
      'Period',
      'Age',
    ]);
    expect(['qbe', 'qses'].every((s) => [...renderCrdFiles().values()].some((t) => t.includes(`- ${s}\n`)))).toBe(true);
  });

  it('keeps the example manifests identical to their circuits', async () => {
    for (const [name, text] of await renderExamples()) {
      const checkedIn = await readFile(new URL(`../../examples/${name}`, import.meta.url), 'utf8');
      expect(checkedIn, `examples/${name} is stale: run npm run gen`).toBe(text);
    }
  });
});
