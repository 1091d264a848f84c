/** Whether a parsed value (JSON, YAML, an event's data) is a plain object, to be read field by field. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
