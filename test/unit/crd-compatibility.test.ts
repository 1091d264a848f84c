/** docs/crd-versioning.md's rules as a check: what a CRD change would break for stored objects and clients. */
import { describe, expect, it } from 'vitest';
import {
  breakingCrdChanges,
  breakingSchemaChanges,
  type CustomResourceDefinition,
  type Schema,
} from '../../infra/crds/compatibility.ts';

const job: Schema = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      required: ['circuit'],
      properties: {
        circuit: { type: 'string', maxLength: 100 },
        shots: { type: 'integer', minimum: 1, maximum: 100_000, default: 1024 },
        backend: { type: 'string', enum: ['local', 'ibm'] },
        tags: { type: 'array', items: { type: 'string', maxLength: 63 } },
      },
    },
  },
};

/** `job` with `spec`'s properties and required changed. */
function changed(properties: Record<string, Schema | undefined>, required?: string[]): Schema {
  const spec = job.properties?.['spec'] as Schema;
  const merged = Object.fromEntries(
    Object.entries({ ...spec.properties, ...properties }).filter((entry): entry is [string, Schema] => !!entry[1]),
  );
  return { ...job, properties: { spec: { ...spec, properties: merged, required: required ?? spec.required ?? [] } } };
}

describe('CRD changes within a served version', () => {
  it('allows what the policy allows: a new optional field, a new enum value, wider limits', () => {
    expect(breakingSchemaChanges(job, job)).toEqual([]);
    expect(
      breakingSchemaChanges(
        job,
        changed({
          priority: { type: 'integer' },
          backend: { type: 'string', enum: ['local', 'ibm', 'braket'] },
          circuit: { type: 'string', maxLength: 1000 },
          shots: { type: 'integer', minimum: 0, maximum: 1_000_000, default: 1024 },
        }),
      ),
    ).toEqual([]);
  });

  it('names every breaking change by its path', () => {
    expect(breakingSchemaChanges(job, changed({ circuit: undefined }))).toEqual(['.spec.circuit: removed']);
    expect(breakingSchemaChanges(job, changed({ priority: { type: 'integer' } }, ['circuit', 'priority']))).toEqual([
      '.spec.priority: newly required',
    ]);
    expect(breakingSchemaChanges(job, changed({ backend: { type: 'string', enum: ['local'] } }))).toEqual([
      '.spec.backend: no longer allows ["ibm"]',
    ]);
    expect(
      breakingSchemaChanges(job, changed({ shots: { type: 'integer', minimum: 1, maximum: 100_000, default: 100 } })),
    ).toEqual(['.spec.shots: default 1024 became 100']);
    expect(
      breakingSchemaChanges(job, changed({ shots: { type: 'integer', minimum: 2, maximum: 100, default: 1024 } })),
    ).toEqual(['.spec.shots: maximum narrowed to 100', '.spec.shots: minimum narrowed to 2']);
    expect(breakingSchemaChanges(job, changed({ circuit: { type: 'object' } }))).toEqual([
      '.spec.circuit: type string became object',
    ]);
    expect(
      breakingSchemaChanges(job, changed({ tags: { type: 'array', items: { type: 'string', maxLength: 8 } } })),
    ).toEqual(['.spec.tags[]: maxLength narrowed to 8']);
  });

  it('refuses a version that is no longer served or no longer the storage version', () => {
    const crd = (versions: CustomResourceDefinition['spec']['versions']): CustomResourceDefinition => ({
      metadata: { name: 'qiskitjobs.quantum.io' },
      spec: { versions },
    });
    const v1 = { name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: job } };
    expect(breakingCrdChanges(crd([v1]), crd([v1, { ...v1, name: 'v2', storage: false }]))).toEqual([]);
    expect(breakingCrdChanges(crd([v1]), crd([{ ...v1, served: false }]))).toEqual([
      'qiskitjobs.quantum.io v1: no longer served',
    ]);
    expect(
      breakingCrdChanges(
        crd([v1]),
        crd([
          { ...v1, storage: false },
          { ...v1, name: 'v2' },
        ]),
      ),
    ).toEqual(['qiskitjobs.quantum.io v1: no longer the storage version']);
  });
});
