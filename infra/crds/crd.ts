/**
 * Renders the CustomResourceDefinitions from the resource schemas in shared/resources, so
 * the CRDs can never drift from the code. `npm run gen` writes them; a test compares.
 */
import { stringify } from 'yaml';
import { GROUP, RESOURCES, type ResourceDefinition, VERSION } from '../../shared/resources/schema.ts';

type JsonSchema = Record<string, unknown>;

const KEPT_KEYS = new Set([
  'type',
  'description',
  'properties',
  'required',
  'items',
  'enum',
  'default',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'pattern',
  'format',
  'additionalProperties',
  'x-kubernetes-validations',
]);

/**
 * Turns a TypeBox (JSON Schema) node into a Kubernetes structural schema: unions of
 * literals become enums, records become additionalProperties, and
 * `additionalProperties: false` (not allowed beside properties) is dropped; the API
 * server prunes unknown fields instead.
 */
export function toStructural(node: JsonSchema): JsonSchema {
  const anyOf = node['anyOf'];
  if (Array.isArray(anyOf) && anyOf.every((member: JsonSchema) => member['const'] !== undefined)) {
    const values = anyOf.map((member: JsonSchema) => member['const']);
    return prune({ ...node, type: typeof values[0], enum: values, anyOf: undefined });
  }
  if (node['const'] !== undefined) return prune({ ...node, enum: [node['const']], const: undefined });
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (!KEPT_KEYS.has(key)) continue;
    if (key === 'properties') {
      out[key] = Object.fromEntries(
        Object.entries(value as Record<string, JsonSchema>).map(([name, child]) => [name, toStructural(child)]),
      );
    } else if (key === 'items') {
      out[key] = toStructural(value as JsonSchema);
    } else if (key === 'additionalProperties') {
      if (typeof value === 'object') out[key] = toStructural(value as JsonSchema);
    } else {
      out[key] = value;
    }
  }
  // A field with a default is filled in by the API server, so a manifest may leave it out.
  const properties = node['properties'] as Record<string, JsonSchema> | undefined;
  if (Array.isArray(out['required']) && properties) {
    const required = (out['required'] as string[]).filter((name) => properties[name]?.['default'] === undefined);
    if (required.length > 0) out['required'] = required;
    else delete out['required'];
  }
  const patternProperties = node['patternProperties'] as Record<string, JsonSchema> | undefined;
  if (patternProperties) {
    const [valueSchema] = Object.values(patternProperties);
    if (valueSchema) out['additionalProperties'] = toStructural(valueSchema);
  }
  return out;
}

function prune(node: JsonSchema): JsonSchema {
  return toStructural(Object.fromEntries(Object.entries(node).filter(([, v]) => v !== undefined)));
}

/** Builds the CRD object for one resource kind. */
export function buildCrd(definition: ResourceDefinition): JsonSchema {
  const schema = toStructural(definition.schema);
  const properties = schema['properties'] as Record<string, JsonSchema>;
  // The API server owns metadata's schema; a CRD may only say it is an object.
  properties['metadata'] = { type: 'object' };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${definition.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: {
        kind: definition.kind,
        listKind: `${definition.kind}List`,
        plural: definition.plural,
        singular: definition.singular,
        shortNames: [...definition.shortNames],
        categories: ['qpipe', 'quantum'],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: definition.printerColumns.map((column) => ({ ...column })),
          schema: {
            openAPIV3Schema: {
              description: definition.description,
              ...schema,
              required: ['spec'],
            },
          },
        },
      ],
    },
  };
}

const HEADER = '# Generated from shared/resources/schema.ts by `npm run gen`. Do not edit.\n';

/** The CRD files as they are checked in: file name to YAML text. */
export function renderCrdFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const definition of Object.values(RESOURCES)) {
    files.set(`${definition.plural}.yaml`, HEADER + stringify(buildCrd(definition), { lineWidth: 0 }));
  }
  return files;
}
