/**
 * The string formats the schemas use, registered with TypeBox. TypeBox knows no format by
 * itself: an unregistered one fails every value ("unknown format"), which once rejected
 * live jobs whose status carried a timestamp. Import this wherever schemas are checked.
 */
import { FormatRegistry } from '@sinclair/typebox';

// RFC 3339 date-time, as Kubernetes writes timestamps (metav1.Time): 2026-11-30T01:02:03Z,
// with optional fractional seconds and a numeric offset.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Format name to check; every `format` a schema names must be here. */
export const FORMATS: Readonly<Record<string, (value: string) => boolean>> = {
  'date-time': (value) => DATE_TIME.test(value) && !Number.isNaN(Date.parse(value)),
};

for (const [name, check] of Object.entries(FORMATS)) {
  if (!FormatRegistry.Has(name)) FormatRegistry.Set(name, check);
}
