/**
 * Backend selection: hard constraints first, then a weighted score. Every candidate is
 * returned with its scores or the reason it was excluded, so users can see why a device
 * was picked.
 */
import { closeMatches } from '../close-matches.ts';
import type { CostEstimate } from '../../events/schemas.ts';
import { InvalidInputError } from '../errors.ts';
import { formatMoney, parseMoney } from '../money.ts';
import { estimateCost } from '../pricing/pricing.ts';
import type { BackendType, Candidate, CircuitMetadata, QiskitJobSpec } from '../resources/schema.ts';
import { parseDuration } from '../duration.ts';
import { type BackendEntry, type DeviceStatus, estimateRunSeconds } from './backend.ts';
import type { StatusReading } from './device-status.ts';

/** The weights selection uses when a job sets none: cost matters most, then queue and availability. */
export const BALANCED_WEIGHTS = { cost: 0.4, queueTime: 0.3, capability: 0.1, availability: 0.2 } as const;
type WeightName = keyof typeof BALANCED_WEIGHTS;

/** What selection decided. */
export interface Selection {
  readonly backend: BackendEntry;
  readonly estimate: CostEstimate;
  readonly fallbackUsed: boolean;
  readonly originalBackend?: string;
  readonly candidates: Candidate[];
}

/** Inputs of selection. */
export interface SelectionRequest {
  readonly spec: QiskitJobSpec;
  readonly metadata: CircuitMetadata;
  readonly shots: number;
  readonly backends: readonly BackendEntry[];
  /** Backend types this deployment can run. */
  readonly availableTypes: ReadonlySet<BackendType>;
  /** Live device facts by backend name; a backend without one is taken at its catalog entry. */
  readonly statuses?: ReadonlyMap<string, StatusReading>;
  /** Why a backend cannot run the circuit after translation (compatibility.ts), if it cannot. */
  readonly circuitProblem?: (backend: BackendEntry, liveGates?: readonly string[]) => string | undefined;
}

/**
 * Seconds a new task waits per task queued ahead of it, a coarse figure for turning a
 * queue length into a wait: QPU tasks of ~1,000 shots take about a minute of device time
 * with overheads, managed simulator tasks a few seconds.
 */
export const SECONDS_PER_QUEUED_TASK = { qpu: 60, simulator: 5 } as const;

/** Estimated queue wait on a backend, in seconds, from its live queue length. */
export function queueWaitSeconds(backend: BackendEntry, status: DeviceStatus | undefined): number {
  if (!status?.queueDepth) return 0;
  const simulator = backend.pricing.perMinuteMicros > 0 || backend.type === 'ibm_simulator';
  return status.queueDepth * (simulator ? SECONDS_PER_QUEUED_TASK.simulator : SECONDS_PER_QUEUED_TASK.qpu);
}

/** A queue wait as a score: 1 for none, one half at ten minutes. */
const queueScore = (seconds: number) => 1 / (1 + seconds / 600);

/** Normalised weights: missing ones take the balanced preset's value; they sum to 1. */
export function normaliseWeights(weights: Partial<Record<WeightName, number>> | undefined): Record<WeightName, number> {
  const merged = { ...BALANCED_WEIGHTS, ...weights };
  const total = Object.values(merged).reduce((a, b) => a + b, 0);
  if (total === 0) return { ...BALANCED_WEIGHTS };
  return {
    cost: merged.cost / total,
    queueTime: merged.queueTime / total,
    capability: merged.capability / total,
    availability: merged.availability / total,
  };
}

function statusOf(request: SelectionRequest, backend: BackendEntry): DeviceStatus | undefined {
  const reading = request.statuses?.get(backend.name);
  return reading && 'status' in reading ? reading.status : undefined;
}

/**
 * Why the job's own settings or the deployment rule a backend out before anything is
 * asked of its provider (pins, exclusions, disabled, not configured), if they do.
 */
export function settingsExclusion(
  backend: BackendEntry,
  spec: QiskitJobSpec,
  availableTypes: ReadonlySet<BackendType>,
): string | undefined {
  const wanted = spec.backend;
  if (wanted?.name !== undefined && wanted.name !== backend.name) return `not the pinned backend ${wanted.name}`;
  if (wanted?.type !== undefined && wanted.type !== backend.type) return `not of type ${wanted.type}`;
  if (!backend.enabled) return 'disabled';
  if (spec.backendSelection?.excludedBackends?.includes(backend.name)) return 'excluded by the job';
  if (!availableTypes.has(backend.type)) return `${backend.type} is not configured in this deployment`;
  return undefined;
}

function exclusionReason(backend: BackendEntry, request: SelectionRequest, estimateMicros: number): string | undefined {
  const { spec, metadata } = request;
  const status = statusOf(request, backend);
  const selection = spec.backendSelection;
  const ruledOut = settingsExclusion(backend, spec, request.availableTypes);
  if (ruledOut !== undefined) return ruledOut;
  if (status && !status.online) return `offline (${status.detail ?? 'the provider reports it unavailable'})`;
  const qubits = status?.qubits ?? backend.qubits;
  const needed = Math.max(metadata.qubits, selection?.requirements?.minQubits ?? 0);
  if (qubits < needed) return `has ${qubits} qubits, the job needs ${needed}`;
  const range = status?.shotsRange;
  if (range && (request.shots < range[0] || request.shots > range[1])) {
    return `takes ${range[0]} to ${range[1]} shots, the job asks for ${request.shots}`;
  }
  const maxQueueTime = selection?.requirements?.maxQueueTime;
  if (maxQueueTime !== undefined) {
    const wait = queueWaitSeconds(backend, status);
    if (wait > parseDuration(maxQueueTime, 'spec.backendSelection.requirements.maxQueueTime') / 1000) {
      return `queue of ${status?.queueDepth} tasks (about ${Math.round(wait / 60)} min) exceeds requirements.maxQueueTime ${maxQueueTime}`;
    }
  }
  const problem = request.circuitProblem?.(backend, status?.supportedGates);
  if (problem !== undefined) return problem;
  const maxCost = selection?.requirements?.maxCost;
  if (maxCost !== undefined) {
    const limit = parseMoney(maxCost, 'spec.backendSelection.requirements.maxCost');
    if (estimateMicros > limit)
      return `costs ${formatMoney(estimateMicros)}, more than requirements.maxCost ${maxCost}`;
  }
  return undefined;
}

/**
 * A provider device whose status call went unanswered scores one half for availability
 * and queue: it should not be excluded, but should not tie with one known to be up and idle.
 */
const UNKNOWN_SCORE = 0.5;

function isUnknown(request: SelectionRequest, backend: BackendEntry): boolean {
  if (backend.type === 'local_simulator' || !request.statuses) return false;
  const reading = request.statuses.get(backend.name);
  return !(reading && 'status' in reading);
}

function availabilityScore(request: SelectionRequest, backend: BackendEntry): number {
  return isUnknown(request, backend) ? UNKNOWN_SCORE : 1;
}

/** Chooses a backend, or throws an InvalidInputError that lists why each one was excluded. */
export function selectBackend(request: SelectionRequest): Selection {
  const pinned = request.spec.backend?.name;
  if (pinned !== undefined && !request.backends.some((b) => b.name === pinned)) {
    // A name nothing answers to: say so, not why each known backend is not it.
    const names = request.backends.map((b) => b.name);
    const near = closeMatches(pinned, names);
    throw new InvalidInputError(
      'spec.backend.name',
      `no backend named "${pinned}"${near.length > 0 ? `; did you mean ${near.map((n) => `"${n}"`).join(' or ')}?` : ''} ` +
        `(known here: ${names.join(', ')})`,
    );
  }
  const weights = normaliseWeights(request.spec.backendSelection?.weights);
  const preferred = request.spec.backendSelection?.preferredBackends ?? [];
  const assessed = request.backends.map((backend) => {
    const seconds = estimateRunSeconds(backend, request.metadata, request.shots);
    const estimate = estimateCost(backend.pricing, { shots: request.shots, seconds });
    return { backend, estimate, reason: exclusionReason(backend, request, estimate.totalMicros) };
  });
  const eligible = assessed.filter((a) => a.reason === undefined);
  // Cost scores on a log scale, so a $0.004 simulator and a $1.22 QPU are far apart even
  // when an $82 QPU is in the list too; a tenth of a cent is the floor (free is not infinitely better).
  const costLog = (micros: number) => Math.log(Math.max(micros, 1_000));
  const cheapest = Math.min(...eligible.map((a) => costLog(a.estimate.totalMicros)));
  const dearest = Math.max(...eligible.map((a) => costLog(a.estimate.totalMicros)));
  const mostQubits = Math.max(...eligible.map((a) => a.backend.qubits));
  const scored = assessed.map((a) => {
    const scores =
      a.reason === undefined
        ? {
            cost: dearest === cheapest ? 1 : 1 - (costLog(a.estimate.totalMicros) - cheapest) / (dearest - cheapest),
            queueTime: isUnknown(request, a.backend)
              ? UNKNOWN_SCORE
              : queueScore(queueWaitSeconds(a.backend, statusOf(request, a.backend))),
            capability: mostQubits > 0 ? a.backend.qubits / mostQubits : 1,
            availability: availabilityScore(request, a.backend),
          }
        : { cost: 0, queueTime: 0, capability: 0, availability: 0 };
    const score =
      a.reason === undefined
        ? (Object.keys(weights) as WeightName[]).reduce((sum, w) => sum + weights[w] * scores[w], 0)
        : 0;
    return { ...a, scores, score };
  });
  const rank = (name: string) => {
    const i = preferred.indexOf(name);
    return i < 0 ? preferred.length : i;
  };
  const ordered = scored
    .filter((s) => s.reason === undefined)
    .sort(
      (x, y) =>
        y.score - x.score ||
        rank(x.backend.name) - rank(y.backend.name) ||
        x.backend.name.localeCompare(y.backend.name),
    );
  const candidates: Candidate[] = scored.map((s) => {
    const queueDepth = statusOf(request, s.backend)?.queueDepth;
    return {
      backend: s.backend.name,
      eligible: s.reason === undefined,
      ...(s.reason === undefined ? {} : { reason: s.reason }),
      score: Math.round(s.score * 1e6) / 1e6,
      scores: s.scores,
      ...(queueDepth === undefined ? {} : { queueDepth }),
      estimatedCost: formatMoney(s.estimate.totalMicros),
    };
  });
  const best = ordered[0];
  if (best) return { backend: best.backend, estimate: best.estimate, fallbackUsed: false, candidates };

  const fallback = fallbackSimulator(request, assessed);
  if (fallback) return { ...fallback, candidates };
  const reasons = scored.map((s) => `${s.backend.name}: ${s.reason}`).join('; ');
  const wantedType = request.spec.backend?.type;
  const hint =
    wantedType !== undefined && !request.availableTypes.has(wantedType)
      ? `; ${wantedType} is not configured in this deployment, so set spec.backendSelection.fallbackToSimulator: true to use the simulator instead`
      : '';
  throw new InvalidInputError(
    'spec.backend',
    `no backend can run this job (${reasons || 'no backends are configured'})${hint}`,
  );
}

function fallbackSimulator(
  request: SelectionRequest,
  assessed: readonly { backend: BackendEntry; estimate: CostEstimate }[],
): Omit<Selection, 'candidates'> | undefined {
  const { spec, metadata } = request;
  if (!spec.backendSelection?.fallbackToSimulator || spec.execution?.disableFallback) return undefined;
  const simulator = assessed.find(
    (a) => a.backend.type === 'local_simulator' && a.backend.enabled && request.availableTypes.has('local_simulator'),
  );
  if (!simulator || simulator.backend.qubits < metadata.qubits) return undefined;
  return {
    backend: simulator.backend,
    estimate: simulator.estimate,
    fallbackUsed: true,
    originalBackend: spec.backend?.name ?? spec.backend?.type ?? 'automatic selection',
  };
}
