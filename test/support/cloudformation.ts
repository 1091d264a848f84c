/**
 * A CloudFormation template as deployed under given parameter values: conditions evaluated
 * (the Fn::Equals/Fn::Not/Fn::And/Fn::Or osls leaves after resolving ${param:...}), every
 * Fn::If replaced by its branch and AWS::NoValue removed. Enough to check a rendered template
 * the way CloudFormation would read it; other intrinsics are left as written.
 */
type Json = unknown;

function isNoValue(value: Json): boolean {
  return typeof value === 'object' && value !== null && (value as Record<string, unknown>)['Ref'] === 'AWS::NoValue';
}

function evaluate(condition: Json, conditions: Record<string, Json>): boolean {
  const node = condition as Record<string, Json>;
  if ('Condition' in node) return evaluate(conditions[node['Condition'] as string], conditions);
  if ('Fn::Equals' in node) {
    const [a, b] = node['Fn::Equals'] as [Json, Json];
    if (typeof a !== 'string' || typeof b !== 'string') throw new Error(`cannot evaluate ${JSON.stringify(node)}`);
    return a === b;
  }
  if ('Fn::Not' in node) return !evaluate((node['Fn::Not'] as Json[])[0], conditions);
  if ('Fn::And' in node) return (node['Fn::And'] as Json[]).every((c) => evaluate(c, conditions));
  if ('Fn::Or' in node) return (node['Fn::Or'] as Json[]).some((c) => evaluate(c, conditions));
  throw new Error(`cannot evaluate ${JSON.stringify(node)}`);
}

function resolve(value: Json, truth: Record<string, boolean>): Json {
  if (Array.isArray(value)) return value.map((v) => resolve(v, truth)).filter((v) => !isNoValue(v));
  if (typeof value !== 'object' || value === null) return value;
  const node = value as Record<string, Json>;
  if ('Fn::If' in node) {
    const [name, yes, no] = node['Fn::If'] as [string, Json, Json];
    if (!(name in truth)) throw new Error(`unknown condition ${name}`);
    return resolve(truth[name] ? yes : no, truth);
  }
  return Object.fromEntries(
    Object.entries(node)
      .map(([k, v]) => [k, resolve(v, truth)] as const)
      .filter(([, v]) => !isNoValue(v)),
  );
}

/** The template with its conditions applied, and which conditions held. */
export function applyConditions<T extends { Conditions?: Record<string, Json>; Resources: Record<string, unknown> }>(
  template: T,
): { template: T; conditions: Record<string, boolean> } {
  const conditions = template.Conditions ?? {};
  const truth = Object.fromEntries(
    Object.keys(conditions).map((name) => [name, evaluate(conditions[name], conditions)]),
  );
  const resources = Object.fromEntries(
    Object.entries(template.Resources).filter(([, r]) => {
      const condition = (r as { Condition?: string }).Condition;
      return condition === undefined || truth[condition];
    }),
  );
  return { template: resolve({ ...template, Resources: resources }, truth) as T, conditions: truth };
}
