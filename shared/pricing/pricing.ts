/** Prices of backends and worst-case cost estimates, all in integer micro-dollars. */
import type { CostEstimate } from '../../events/schemas.ts';
import { formatMoney, type MicroDollars, parseMoney } from '../money.ts';
import type { QiskitBackendSpec } from '../resources/schema.ts';
import catalog from './catalog.json' with { type: 'json' };

/** A backend's prices; absent parts cost nothing. */
export interface Pricing {
  readonly perTaskMicros: MicroDollars;
  readonly perShotMicros: MicroDollars;
  readonly perMinuteMicros: MicroDollars;
  readonly perSecondMicros: MicroDollars;
  /** Least run time billed, for time-priced backends. */
  readonly minimumSeconds: number;
}

/** Prices as manifests and the catalog write them. */
export type PricingSpec = NonNullable<QiskitBackendSpec['pricing']>;

/** Parses money strings of a pricing block; `where` names the field in errors. */
export function parsePricing(spec: PricingSpec, where: string): Pricing {
  const part = (value: string | undefined, field: string) =>
    value === undefined ? 0 : parseMoney(value, `${where}.${field}`);
  return {
    perTaskMicros: part(spec.perTask, 'perTask'),
    perShotMicros: part(spec.perShot, 'perShot'),
    perMinuteMicros: part(spec.perMinute, 'perMinute'),
    perSecondMicros: part(spec.perSecond, 'perSecond'),
    minimumSeconds: spec.minimumSeconds ?? 0,
  };
}

/** Catalog prices by catalog id (e.g. "braket-sv1"). */
export function catalogPricing(id: string): Pricing | undefined {
  const entries = catalog.entries as Record<string, { pricing: PricingSpec } | undefined>;
  const entry = entries[id];
  return entry ? parsePricing(entry.pricing, `pricing catalog ${id}`) : undefined;
}

/** Zero prices. */
export const FREE: Pricing = {
  perTaskMicros: 0,
  perShotMicros: 0,
  perMinuteMicros: 0,
  perSecondMicros: 0,
  minimumSeconds: 0,
};

/** What a run is expected to take, for time-priced backends. */
export interface Workload {
  readonly shots: number;
  /** Worst-case billable run time in seconds. */
  readonly seconds: number;
}

/**
 * The worst-case cost of a run with its breakdown. Time-based parts are rounded up to the
 * micro-dollar, so the estimate is never below the bill.
 */
export function estimateCost(pricing: Pricing, workload: Workload): CostEstimate {
  const breakdown: CostEstimate['breakdown'] = [];
  const add = (item: string, micros: number) => {
    if (micros > 0) breakdown.push({ item, micros: Math.ceil(micros) });
  };
  // Each item names its quantity and unit price: "1024 shots × $0.08".
  add('per-task fee', pricing.perTaskMicros);
  add(`${workload.shots} shots × ${formatMoney(pricing.perShotMicros)}`, pricing.perShotMicros * workload.shots);
  const seconds = Math.max(pricing.minimumSeconds, workload.seconds);
  add(
    `${seconds.toFixed(1)} s × ${formatMoney(pricing.perMinuteMicros)}/min`,
    (pricing.perMinuteMicros * seconds) / 60,
  );
  add(`${seconds.toFixed(1)} s × ${formatMoney(pricing.perSecondMicros)}/s`, pricing.perSecondMicros * seconds);
  return { totalMicros: breakdown.reduce((sum, b) => sum + b.micros, 0), breakdown };
}
