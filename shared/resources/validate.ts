/**
 * Runtime validation of resources against the one schema definition, with errors that
 * name each bad field the way a user wrote it (`spec.execution.shots`).
 */
import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { Value, type ValueError } from '@sinclair/typebox/value';
import { InvalidInputError } from '../errors.ts';
import './formats.ts';
import {
  API_VERSION,
  CIRCUIT_SOURCE_FIELD,
  DURATION_PATTERN,
  MONEY_PATTERN,
  type QiskitBackend,
  type QiskitBudget,
  type QiskitJob,
  type QiskitSession,
  RESOURCES,
  type ResourceKind,
} from './schema.ts';
import { isRecord } from '../records.ts';
import { parseDuration } from '../duration.ts';

/** One problem found in a document: the field path and what is wrong with it. */
export interface FieldProblem {
  readonly path: string;
  readonly message: string;
}

/** A manifest or event payload that does not match its schema; lists every bad field. */
export class SchemaError extends InvalidInputError {
  readonly problems: readonly FieldProblem[];

  constructor(subject: string, problems: readonly FieldProblem[]) {
    const lines = problems.map((p) => `  ${p.path || '(document)'}: ${p.message}`);
    super('', `${subject} is invalid:\n${lines.join('\n')}`);
    this.problems = problems;
  }
}

/** Any qpipe resource, discriminated by kind. */
export type AnyResource = QiskitJob | QiskitBudget | QiskitBackend | QiskitSession;
type ResourceOf<K extends ResourceKind> = Extract<AnyResource, { kind: K }>;

const MAX_PROBLEMS = 10;

function dottedPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '');
}

function describe(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}

function explain(error: ValueError): string {
  const schema = error.schema as Record<string, unknown>;
  const got = describe(error.value);
  if (error.message === 'Unexpected property') return 'is not a known field';
  if (error.value === undefined) return 'is required';
  const options = Array.isArray(schema['anyOf'])
    ? (schema['anyOf'] as Array<Record<string, unknown>>).map((s) => s['const'])
    : [];
  if (options.length > 0 && options.every((o) => typeof o === 'string')) {
    return `must be one of ${options.join(', ')} (got ${got})`;
  }
  if (schema['const'] !== undefined) return `must be ${JSON.stringify(schema['const'])} (got ${got})`;
  if (schema['pattern'] === MONEY_PATTERN) {
    return `must be an amount of money like "$10,000.00" or "$5" (got ${got}; negative amounts and words are not allowed)`;
  }
  if (schema['pattern'] === DURATION_PATTERN) return `must be a duration like "90s", "15m" or "1h30m" (got ${got})`;
  if (typeof schema['minimum'] === 'number' && typeof error.value === 'number' && error.value < schema['minimum']) {
    return `must be at least ${schema['minimum']} (got ${got})`;
  }
  if (typeof schema['maximum'] === 'number' && typeof error.value === 'number' && error.value > schema['maximum']) {
    return `must be at most ${schema['maximum']} (got ${got})`;
  }
  if (schema['type'] === 'integer' && typeof error.value === 'number') return `must be a whole number (got ${got})`;
  if (typeof schema['type'] === 'string' && typeof error.value !== schema['type']) {
    return `must be ${/^[aeiou]/.test(schema['type']) ? 'an' : 'a'} ${schema['type']} (got ${got})`;
  }
  if (typeof schema['pattern'] === 'string') return `has an invalid format (got ${got})`;
  return `${error.message.toLowerCase()} (got ${got})`;
}

/** Each schema compiled once, on first use (formats are registered by ./formats.ts). */
const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();

function compiledCheck<S extends TSchema>(schema: S): TypeCheck<S> {
  let check = compiled.get(schema);
  if (!check) compiled.set(schema, (check = TypeCompiler.Compile(schema)));
  return check as TypeCheck<S>;
}

/**
 * Parses a value against a schema, filling defaults: returns the defaulted copy as the
 * schema's type, or throws a SchemaError naming every bad field (the most specific error
 * per path). Events, manifests, Kubernetes objects and documents read back from the store
 * all come through here, so nothing read is cast to a type it was never checked against.
 */
export function checkSchema<S extends TSchema>(schema: S, value: unknown, subject: string, prefix = ''): Static<S> {
  const check = compiledCheck(schema);
  const copy: unknown = Value.Default(schema, Value.Clone(value));
  if (check.Check(copy)) return copy;
  const byPath = new Map<string, FieldProblem>();
  for (const error of check.Errors(copy)) {
    const path = [prefix, dottedPath(error.path)].filter(Boolean).join('.');
    // A union reports its own failure after its members'; the first one is the most precise.
    if (!byPath.has(path)) byPath.set(path, { path, message: explain(error) });
    if (byPath.size >= MAX_PROBLEMS) break;
  }
  // Drop a parent's generic complaint when a child already says what is wrong.
  const problems = [...byPath.values()].filter(
    (p) => ![...byPath.keys()].some((other) => other !== p.path && other.startsWith(`${p.path}.`)),
  );
  throw new SchemaError(subject, problems);
}

/** The durations a resource sets, by path: each must fit in a date when added to one. */
function durationsOf(resource: AnyResource): [string, string | undefined][] {
  switch (resource.kind) {
    case 'QiskitJob':
      return [
        ['spec.backendSelection.requirements.maxQueueTime', resource.spec.backendSelection?.requirements?.maxQueueTime],
      ];
    case 'QiskitBudget':
      return [['spec.enforcement.gracePeriod', resource.spec.enforcement?.gracePeriod]];
    case 'QiskitSession':
      return [['spec.maxTime', resource.spec.maxTime]];
    default:
      return [];
  }
}

function crossFieldProblems(resource: AnyResource): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const [path, text] of durationsOf(resource)) {
    if (text === undefined) continue;
    try {
      parseDuration(text, path);
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      problems.push({ path, message: error.message.slice(`${path}: `.length) });
    }
  }
  if (resource.kind !== 'QiskitJob') return problems;
  const circuit = resource.spec.circuit;
  const field = CIRCUIT_SOURCE_FIELD[circuit.source];
  if (circuit[field] === undefined) {
    problems.push({
      path: `spec.circuit.${field}`,
      message: `is required when spec.circuit.source is ${circuit.source}`,
    });
  }
  return problems;
}

/**
 * Parses any qpipe manifest: checks apiVersion and kind first (so a wrong one is named
 * plainly), then the kind's schema with defaults, then the cross-field rules.
 */
export function parseResource(document: unknown, subject = 'manifest'): AnyResource {
  if (!isRecord(document)) {
    throw new SchemaError(subject, [{ path: '', message: `must be a mapping (got ${describe(document)})` }]);
  }
  const { apiVersion, kind } = document;
  if (apiVersion !== API_VERSION) {
    throw new SchemaError(subject, [
      { path: 'apiVersion', message: `must be ${API_VERSION} (got ${describe(apiVersion)})` },
    ]);
  }
  if (typeof kind !== 'string' || !Object.hasOwn(RESOURCES, kind)) {
    const known = Object.keys(RESOURCES).join(', ');
    throw new SchemaError(subject, [{ path: 'kind', message: `must be one of ${known} (got ${describe(kind)})` }]);
  }
  const name = isRecord(document.metadata) ? document.metadata.name : undefined;
  const label = typeof name === 'string' ? `${kind} ${name}` : subject;
  const resource = checkSchema(RESOURCES[kind as ResourceKind].schema, document, label);
  resource.metadata.namespace ??= 'default';
  const problems = crossFieldProblems(resource);
  if (problems.length > 0) throw new SchemaError(label, problems);
  return resource;
}

/** Parses a manifest that must be of one kind. */
export function parseResourceOf<K extends ResourceKind>(kind: K, document: unknown, subject?: string): ResourceOf<K> {
  const resource = parseResource(document, subject);
  if (resource.kind !== kind) {
    throw new SchemaError(subject ?? 'manifest', [{ path: 'kind', message: `must be ${kind} (got ${resource.kind})` }]);
  }
  return resource as ResourceOf<K>;
}
