/**
 * `qpipe estimate`: for each job in a manifest, every backend selection would consider,
 * with its worst-case cost breakdown, score, and why it is or is not eligible.
 */
import type { CostEstimate } from '../../events/schemas.ts';
import { estimateRunSeconds } from '../backends/backend.ts';
import { backendRefusals, catalogFor } from '../backends/visibility.ts';
import { circuitProblem } from '../backends/compatibility.ts';
import { selectBackend } from '../backends/selection.ts';
import type { QpipeConfig } from '../config.ts';
import { InvalidInputError } from '../errors.ts';
import { jobShots } from '../jobs.ts';
import { circuitCodeInFiles, loadManifests } from '../manifests.ts';
import { estimateCost } from '../pricing/pricing.ts';
import { compileQasm } from '../qasm/index.ts';
import type { BackendType, Candidate, QiskitBudget } from '../resources/schema.ts';
import { providerExecutors } from '../backends/providers.ts';
import { readResources, withStored } from '../resources/resource-store.ts';
import { createDeployedPorts } from '../runtime/deployed-ports.ts';
import { parseResourceOf } from '../resources/validate.ts';

/** One job's estimate. */
export interface JobEstimate {
  readonly job: string;
  readonly shots: number;
  /** The backend selection would choose on a deployment where every provider is configured. */
  readonly selected: string | null;
  readonly candidates: (Candidate & {
    readonly type: BackendType;
    readonly breakdown: CostEstimate['breakdown'];
    readonly configuredHere: boolean;
  })[];
  /** The budget approval would charge, or why none would be. */
  readonly budget?: string;
  readonly error?: string;
}

/** Which budget enforce-budget would charge, from the budgets known here (files, and the store when configured). */
export function budgetNote(
  namespace: string,
  budgetRef: string | undefined,
  budgets: readonly QiskitBudget[],
  unbudgeted: { readonly paid: boolean; readonly policy: QpipeConfig['budgets']['unbudgetedPaidJobs'] } = {
    paid: false,
    policy: 'refuse',
  },
): string {
  const names = budgets.filter((b) => (b.metadata.namespace ?? 'default') === namespace).map((b) => b.metadata.name);
  if (budgetRef !== undefined) {
    return names.includes(budgetRef) ? budgetRef : `${budgetRef} (not found in namespace ${namespace})`;
  }
  if (names.length === 1) return names[0] as string;
  if (names.length === 0) {
    const none = `none: no QiskitBudget in namespace ${namespace}`;
    if (!unbudgeted.paid) return `${none}; the job costs nothing, so it runs unbudgeted`;
    return unbudgeted.policy === 'allow'
      ? `${none}, so the job runs unbudgeted (QPIPE_UNBUDGETED_PAID_JOBS=allow)`
      : `${none}: the job is refused, as this installation runs no paid job without a budget`;
  }
  return `several in namespace ${namespace} (${names.join(', ')}): set spec.budget.budgetRef`;
}

/** Estimates every job of the files. */
export async function estimateFiles(
  files: readonly string[],
  options: { config: QpipeConfig },
): Promise<{ jobs: JobEstimate[]; errors: InvalidInputError[] }> {
  // The providers this configuration runs, decided as the select-backend stage decides them
  // (its executors): the estimate picks what run would pick, fallback included.
  const configuredTypes = new Set<BackendType>([
    'local_simulator',
    ...(Object.keys(providerExecutors(options.config)) as BackendType[]),
  ]);
  const manifests = await loadManifests(files);
  // Budgets and backends also live in the store (qpipe apply, earlier runs): a bucket or the local folder.
  const resources = withStored(
    manifests,
    await readResources((await createDeployedPorts(options.config, manifests)).store),
  );
  const budgets = resources.budgets;
  const backendsFor = (namespace: string) =>
    catalogFor(namespace, {
      cluster: { listBackends: () => Promise.resolve([...resources.backends]) },
      config: options.config,
    });
  const jobs: JobEstimate[] = [];
  for (const document of manifests.jobs) {
    const where = `${document.file}:${document.line}`;
    // Which job an error belongs to: its name once the manifest parses.
    let label = where;
    try {
      const job = parseResourceOf('QiskitJob', document.value, `${where} QiskitJob`);
      label = `${job.metadata.namespace ?? 'default'}/${job.metadata.name}`;
      const circuit = job.spec.circuit;
      // ConfigMaps of the files and of the store, as run reads them.
      const code = circuitCodeInFiles(circuit, job.metadata.namespace ?? 'default', resources);
      if (code === undefined)
        throw new InvalidInputError('spec.circuit', `the circuit (source ${circuit.source}) is not in the files given`);
      const { circuit: compiled, metadata } = compileQasm(code, { limits: options.config.circuitLimits });
      const shots = jobShots(job.spec);
      const backends = await backendsFor(job.metadata.namespace ?? 'default');
      const byName = new Map(backends.map((b) => [b.name, b]));
      let selected: string | null = null;
      let selectedMicros = 0;
      let candidates: Candidate[];
      try {
        const selection = selectBackend({
          spec: job.spec,
          metadata,
          shots,
          backends,
          availableTypes: configuredTypes,
          circuitProblem: (backend) => circuitProblem(compiled, backend),
        });
        selected = selection.backend.name;
        selectedMicros = selection.estimate.totalMicros;
        candidates = selection.candidates;
      } catch (error) {
        if (!(error instanceof InvalidInputError)) throw error;
        jobs.push({ job: label, shots, selected: null, candidates: [], error: error.message });
        continue;
      }
      jobs.push({
        job: label,
        shots,
        selected,
        budget: budgetNote(job.metadata.namespace ?? 'default', job.spec.budget?.budgetRef, budgets, {
          paid: selectedMicros > 0,
          policy: options.config.budgets.unbudgetedPaidJobs,
        }),
        candidates: candidates.map((c) => {
          const backend = byName.get(c.backend);
          const breakdown = backend
            ? estimateCost(backend.pricing, { shots, seconds: estimateRunSeconds(backend, metadata, shots) }).breakdown
            : [];
          const type = backend?.type ?? 'local_simulator';
          return { ...c, type, breakdown, configuredHere: configuredTypes.has(type) };
        }),
      });
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      jobs.push({
        job: label === where ? where : `${label} (${where})`,
        shots: 0,
        selected: null,
        candidates: [],
        error: error.message,
      });
    }
  }
  return { jobs, errors: [...manifests.errors, ...backendRefusals(manifests.backends, options.config)] };
}
