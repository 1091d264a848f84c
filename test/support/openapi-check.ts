/**
 * Checks a value against a Kubernetes structural OpenAPI v3 schema (the subset CRDs use:
 * type, properties, required, enum, minimum/maximum, min/maxLength, pattern, items,
 * additionalProperties), so examples are validated against the generated CRD itself.
 */
type Schema = Record<string, unknown>;

/** Problems found, as "path: message"; empty when the value conforms. */
export function checkOpenApi(schema: Schema, value: unknown, path = ''): string[] {
  const problems: string[] = [];
  const at = path || '(root)';
  const type = schema['type'];
  const kind = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
  if (type === 'integer' ? !Number.isInteger(value) : type !== undefined && kind !== type) {
    return [`${at}: expected ${String(type)}, got ${kind}`];
  }
  if (Array.isArray(schema['enum']) && !(schema['enum'] as unknown[]).includes(value))
    problems.push(`${at}: not one of the enum values`);
  if (typeof value === 'number') {
    if (typeof schema['minimum'] === 'number' && value < schema['minimum']) problems.push(`${at}: below minimum`);
    if (typeof schema['maximum'] === 'number' && value > schema['maximum']) problems.push(`${at}: above maximum`);
  }
  if (typeof value === 'string') {
    if (typeof schema['pattern'] === 'string' && !new RegExp(schema['pattern']).test(value))
      problems.push(`${at}: does not match ${schema['pattern']}`);
    if (typeof schema['minLength'] === 'number' && value.length < schema['minLength'])
      problems.push(`${at}: too short`);
  }
  if (Array.isArray(value) && schema['items'])
    value.forEach((item, i) => problems.push(...checkOpenApi(schema['items'] as Schema, item, `${path}[${i}]`)));
  if (kind === 'object') {
    const object = value as Record<string, unknown>;
    for (const name of (schema['required'] as string[] | undefined) ?? [])
      if (!(name in object)) problems.push(`${path ? `${path}.` : ''}${name}: required`);
    const properties = (schema['properties'] as Record<string, Schema> | undefined) ?? {};
    for (const [name, child] of Object.entries(object)) {
      const childPath = path ? `${path}.${name}` : name;
      if (properties[name]) problems.push(...checkOpenApi(properties[name], child, childPath));
      else if (typeof schema['additionalProperties'] === 'object')
        problems.push(...checkOpenApi(schema['additionalProperties'] as Schema, child, childPath));
      else if (schema['properties'] && schema['x-kubernetes-preserve-unknown-fields'] !== true && name !== 'metadata')
        problems.push(`${childPath}: unknown field (would be pruned)`);
    }
  }
  return problems;
}
