/**
 * Checks a CRD change against docs/crd-versioning.md's rules for a served version: what an
 * upgrade from `before` to `after` would break for objects already stored or clients already
 * written. Patterns are not compared (whether one is looser cannot be decided here): review them.
 */

/** The parts of an OpenAPI v3 schema the rules speak of. */
export interface Schema {
  readonly type?: string;
  readonly properties?: Record<string, Schema>;
  readonly items?: Schema;
  readonly additionalProperties?: Schema | boolean;
  readonly required?: readonly string[];
  readonly enum?: readonly unknown[];
  readonly default?: unknown;
  readonly maximum?: number;
  readonly minimum?: number;
  readonly maxLength?: number;
  readonly minLength?: number;
  readonly maxItems?: number;
  readonly minItems?: number;
  readonly 'x-kubernetes-preserve-unknown-fields'?: boolean;
}

export interface CustomResourceDefinition {
  readonly metadata: { readonly name: string };
  readonly spec: {
    readonly versions: readonly {
      readonly name: string;
      readonly served: boolean;
      readonly storage: boolean;
      readonly schema?: { readonly openAPIV3Schema: Schema };
    }[];
  };
}

const LIMITS_THAT_MAY_ONLY_GROW = ['maximum', 'maxLength', 'maxItems'] as const;
const LIMITS_THAT_MAY_ONLY_SHRINK = ['minimum', 'minLength', 'minItems'] as const;

/** Every breaking difference between two schemas, each naming its path. */
export function breakingSchemaChanges(before: Schema, after: Schema, path = ''): string[] {
  const at = path || '(root)';
  const problems: string[] = [];
  if (before.type !== undefined && after.type !== before.type) {
    problems.push(`${at}: type ${before.type} became ${String(after.type)}`);
  }
  for (const [name, schema] of Object.entries(before.properties ?? {})) {
    const next = after.properties?.[name];
    if (!next) problems.push(`${path}.${name}: removed`);
    else problems.push(...breakingSchemaChanges(schema, next, `${path}.${name}`));
  }
  for (const name of after.required ?? []) {
    if (!(before.required ?? []).includes(name)) problems.push(`${path}.${name}: newly required`);
  }
  if (after.enum !== undefined) {
    const removed = (before.enum ?? []).filter((value) => !after.enum?.includes(value));
    if (before.enum === undefined) problems.push(`${at}: now limited to ${JSON.stringify(after.enum)}`);
    else if (removed.length > 0) problems.push(`${at}: no longer allows ${JSON.stringify(removed)}`);
  }
  if (JSON.stringify(before.default) !== JSON.stringify(after.default)) {
    problems.push(`${at}: default ${JSON.stringify(before.default)} became ${JSON.stringify(after.default)}`);
  }
  for (const limit of LIMITS_THAT_MAY_ONLY_GROW) {
    const [was, is] = [before[limit], after[limit]];
    if (is !== undefined && (was === undefined || is < was)) problems.push(`${at}: ${limit} narrowed to ${is}`);
  }
  for (const limit of LIMITS_THAT_MAY_ONLY_SHRINK) {
    const [was, is] = [before[limit], after[limit]];
    if (is !== undefined && (was === undefined || is > was)) problems.push(`${at}: ${limit} narrowed to ${is}`);
  }
  if (before['x-kubernetes-preserve-unknown-fields'] && !after['x-kubernetes-preserve-unknown-fields']) {
    problems.push(`${at}: no longer keeps unknown fields`);
  }
  if (before.items && after.items) problems.push(...breakingSchemaChanges(before.items, after.items, `${path}[]`));
  if (typeof before.additionalProperties === 'object' && typeof after.additionalProperties === 'object') {
    problems.push(...breakingSchemaChanges(before.additionalProperties, after.additionalProperties, `${path}{}`));
  }
  return problems;
}

/** What upgrading a CRD breaks: a version no longer served, a storage version moved, or a schema change. */
export function breakingCrdChanges(before: CustomResourceDefinition, after: CustomResourceDefinition): string[] {
  const problems: string[] = [];
  for (const version of before.spec.versions.filter((v) => v.served)) {
    const next = after.spec.versions.find((v) => v.name === version.name);
    const name = `${before.metadata.name} ${version.name}`;
    if (!next?.served) {
      problems.push(`${name}: no longer served`);
      continue;
    }
    if (version.storage && !next.storage) problems.push(`${name}: no longer the storage version`);
    if (version.schema && next.schema) {
      problems.push(
        ...breakingSchemaChanges(version.schema.openAPIV3Schema, next.schema.openAPIV3Schema).map(
          (problem) => `${name} ${problem}`,
        ),
      );
    }
  }
  return problems;
}
