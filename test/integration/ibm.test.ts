/**
 * The IBM Quantum executor at the HTTP boundary: a loopback stand-in for IBM Cloud IAM and
 * the Qiskit Runtime REST API (no real IBM service can run here), answering in the shapes
 * IBM documents: IAM token exchange, GET /v1/backends/{name}/status, POST /v1/jobs with a
 * sampler PUB, GET /v1/jobs/{id}, /results (per-register hex samples) and /metrics, POST
 * /v1/jobs/{id}/cancel.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { BackendEntry } from '../../shared/backends/backend.ts';
import { IbmClient, JOBS_PER_MINUTE } from '../../shared/backends/ibm/ibm-client.ts';
import { createIbmExecutor, runTag } from '../../shared/backends/ibm/ibm-executor.ts';
import { InvalidInputError } from '../../shared/errors.ts';
import { retryableOf } from '../support/errors.ts';
import { SchemaError } from '../../shared/resources/validate.ts';
import { FREE } from '../../shared/pricing/pricing.ts';
import { compileQasm } from '../../shared/qasm/index.ts';
import { exactProbabilities } from '../../shared/simulator/run.ts';
import { targetFor } from '../../shared/transpile/target.ts';
import { transpile } from '../../shared/transpile/transpile.ts';

interface IbmJob {
  id: string;
  body: Record<string, unknown>;
  polls: number;
  /** Set by POST /v1/jobs/{id}/cancel: the job answers Cancelled from then on. */
  cancelled?: boolean;
}

/** A stand-in for IAM and the Runtime API; tests change its behaviour between calls. */
function startFakeIbm() {
  const state = {
    tokens: 0,
    calls: [] as string[],
    jobs: new Map<string, IbmJob>(),
    backendStatus: { state: true, status: 'active', message: 'available', length_queue: 7, backend_version: '1.2.3' },
    nextJobStatus: 429 as number | undefined,
    expireTokens: false,
    pollsBeforeDone: 1,
    samples: {} as Record<string, { samples: string[]; num_bits: number }>,
    failWith: undefined as string | undefined,
    sessions: new Map<string, { body: Record<string, unknown>; state: 'open' | 'closed' }>(),
    /** What GET /v1/backends/{name}/configuration answers; undefined: 404. */
    configuration: undefined as Record<string, unknown> | undefined,
  };
  state.nextJobStatus = undefined;
  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const read = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      state.calls.push(`${req.method} ${url.pathname}${url.search}`);
      if (url.pathname === '/identity/token') {
        const form = new URLSearchParams(await read(req));
        if (form.get('apikey') !== 'key-123' || form.get('grant_type') !== 'urn:ibm:params:oauth:grant-type:apikey') {
          return send(res, 400, { errorCode: 'BXNIM0415E', errorMessage: 'Provided API key could not be found.' });
        }
        state.tokens++;
        return send(res, 200, {
          access_token: `token-${state.tokens}`,
          refresh_token: 'not_supported',
          token_type: 'Bearer',
          expires_in: 3600,
          expiration: Math.floor(Date.now() / 1000) + 3600,
          scope: 'ibm openid',
        });
      }
      if (req.headers['service-crn'] !== 'crn:v1:bluemix:public:quantum-computing:us-east:a/abc:def::') {
        return send(res, 400, { errors: [{ message: 'Service-CRN header is missing or wrong' }] });
      }
      if (state.expireTokens || req.headers.authorization !== `Bearer token-${state.tokens}`) {
        state.expireTokens = false;
        return send(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'token expired' }] });
      }
      if (req.method === 'POST' && url.pathname === '/v1/sessions') {
        const body = JSON.parse(await read(req)) as Record<string, unknown>;
        const id = `sess${state.sessions.size}`;
        state.sessions.set(id, { body, state: 'open' });
        return send(res, 200, {
          id,
          backend_name: body['backend'],
          mode: body['mode'],
          max_ttl: body['max_ttl'],
          state: 'open',
          accepting_jobs: true,
        });
      }
      const sessionDetails = url.pathname.match(/^\/v1\/sessions\/([^/]+)$/);
      if (req.method === 'GET' && sessionDetails) {
        const found = state.sessions.get(sessionDetails[1] as string);
        if (!found) return send(res, 404, { errors: [{ message: 'session not found' }] });
        // As IBM documents a session: its state, and whether it still accepts jobs.
        return send(res, 200, {
          id: sessionDetails[1],
          backend_name: found.body['backend'],
          mode: found.body['mode'],
          max_ttl: found.body['max_ttl'],
          state: found.state,
          accepting_jobs: found.state !== 'closed',
        });
      }
      const closing = url.pathname.match(/^\/v1\/sessions\/([^/]+)\/close$/);
      if (req.method === 'DELETE' && closing) {
        const found = state.sessions.get(closing[1] as string);
        if (!found) return send(res, 404, { errors: [{ message: 'session not found' }] });
        found.state = 'closed';
        res.writeHead(204);
        return res.end();
      }
      if (/^\/v1\/backends\/[^/]+\/configuration$/.test(url.pathname)) {
        return state.configuration
          ? send(res, 200, state.configuration)
          : send(res, 404, { errors: [{ message: 'backend not found' }] });
      }
      const status = url.pathname.match(/^\/v1\/backends\/([^/]+)\/status$/);
      if (status) return send(res, 200, state.backendStatus);
      if (req.method === 'GET' && url.pathname === '/v1/jobs') {
        const tag = url.searchParams.get('tags');
        const jobs = [...state.jobs.values()].filter((j) => (j.body['tags'] as string[]).includes(tag ?? ''));
        return send(res, 200, { jobs: jobs.map((j) => ({ id: j.id, status: 'Queued' })), count: jobs.length });
      }
      if (req.method === 'POST' && url.pathname === '/v1/jobs') {
        if (state.nextJobStatus) {
          const code = state.nextJobStatus;
          state.nextJobStatus = undefined;
          return send(res, code, { errors: [{ code, message: code === 429 ? 'Too many requests' : 'Bad request' }] });
        }
        const body = JSON.parse(await read(req)) as Record<string, unknown>;
        const inSession = typeof body['session_id'] === 'string' ? state.sessions.get(body['session_id']) : undefined;
        if (inSession?.state === 'closed') {
          return send(res, 400, { errors: [{ code: 1217, message: 'Session has already been closed.' }] });
        }
        const id = `d1${state.jobs.size}abcdefg`;
        state.jobs.set(id, { id, body, polls: 0 });
        return send(res, 200, { id, backend: body['backend'] });
      }
      const cancel = url.pathname.match(/^\/v1\/jobs\/([^/]+)\/cancel$/);
      if (req.method === 'POST' && cancel) {
        const target = state.jobs.get(cancel[1] as string);
        if (!target) return send(res, 404, { errors: [{ message: 'job not found' }] });
        target.cancelled = true;
        res.writeHead(204);
        return res.end();
      }
      const job = url.pathname.match(/^\/v1\/jobs\/([^/]+)(\/results|\/metrics)?$/);
      const found = job ? state.jobs.get(job[1] as string) : undefined;
      if (job && found) {
        if (job[2] === '/results') {
          return send(res, 200, {
            results: [{ data: state.samples, metadata: { circuit_metadata: {} } }],
            metadata: { version: 2 },
          });
        }
        if (job[2] === '/metrics') {
          return send(res, 200, {
            timestamps: {
              created: '2026-11-26T10:00:00Z',
              running: '2026-11-26T10:00:10Z',
              finished: '2026-11-26T10:00:14Z',
            },
            usage: { quantum_seconds: 4, seconds: 4 },
          });
        }
        found.polls++;
        const done = found.polls > state.pollsBeforeDone;
        const s = found.cancelled ? 'Cancelled' : done ? (state.failWith ? 'Failed' : 'Completed') : 'Queued';
        return send(res, 200, {
          id: found.id,
          backend: found.body['backend'],
          status: s,
          state: { status: s, ...(s === 'Failed' ? { reason: state.failWith } : {}) },
        });
      }
      send(res, 404, { errors: [{ message: 'not found' }] });
    })();
  });
  return { state, server };
}

const backend: BackendEntry = {
  name: 'ibm_brisbane',
  type: 'ibm_quantum',
  deviceId: 'ibm_brisbane',
  qubits: 127,
  pricing: FREE,
  enabled: true,
  origin: 'builtin',
  supportedGates: ['ecr', 'id', 'rz', 'sx', 'x'],
  connectivity: [
    [0, 1],
    [1, 2],
  ],
};
const job = { namespace: 'lab', name: 'isa', uid: '7d0c5a1e-2f3b-4c5d-8e9f-0a1b2c3d4e5f', generation: 1 };
// An ISA circuit: basis gates only, two-qubit gates on coupled pairs, two registers.
const isaSource = `OPENQASM 3.0;
include "stdgates.inc";
gate ecr a, b { h b; cx a, b; rz(pi/4) b; cx a, b; h b; x a; h b; cx a, b; rz(-pi/4) b; cx a, b; h b; }
qubit[3] q;
bit[1] flag;
bit[2] data;
rz(pi/2) q[0];
sx q[0];
ecr q[0], q[1];
x q[2];
flag[0] = measure q[2];
data[0] = measure q[0];
data[1] = measure q[1];
`;
const isa = compileQasm(isaSource).circuit;

/** Every gate of a PUB in the backend's basis, every ecr on a pair the backend runs in that direction. */
function expectIsa(source: string): void {
  for (const [, name, qubits] of source.matchAll(/^(\w+)(?:\([^)]*\))? ([^;]*);$/gm)) {
    if (name === 'gate' || name === 'include' || name === 'bit' || name === 'OPENQASM') continue;
    expect(backend.supportedGates, name).toContain(name);
    if (name === 'ecr')
      expect(
        backend.connectivity?.map(([a, b]) => `$${a}, $${b}`),
        qubits,
      ).toContain(qubits);
  }
}

/** The exact outcome distribution of a program, by qpipe's simulator. */
async function distribution(source: string): Promise<Record<string, number>> {
  const probabilities = await exactProbabilities(compileQasm(source).circuit, { threads: 1 });
  return Object.fromEntries(Object.entries(probabilities).map(([k, p]) => [k, Math.round(p * 1e9) / 1e9]));
}

describe('IBM Quantum executor against a stand-in for IAM and the Runtime REST API', () => {
  const fake = startFakeIbm();
  let url: string;
  let now = Date.parse('2026-11-26T10:00:00Z');
  let client: IbmClient;
  let executor: ReturnType<typeof createIbmExecutor>;

  beforeAll(async () => {
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => fake.server.close(() => resolve())));
  beforeEach(() => {
    client = new IbmClient({
      apiKey: 'key-123',
      serviceCrn: 'crn:v1:bluemix:public:quantum-computing:us-east:a/abc:def::',
      apiUrl: url,
      iamUrl: url,
      now: () => now,
    });
    executor = createIbmExecutor(client, () => now);
  });

  it('exchanges the API key once, reuses the token, and exchanges again after a 401', async () => {
    const before = fake.state.tokens;
    expect(await executor.status!(backend)).toEqual({ online: true, queueDepth: 7 });
    await executor.status!(backend);
    expect(fake.state.tokens).toBe(before + 1);
    fake.state.expireTokens = true;
    await executor.status!(backend);
    expect(fake.state.tokens).toBe(before + 2);
  });

  it('reports a backend in maintenance as offline, with IBM’s words', async () => {
    fake.state.backendStatus = {
      ...fake.state.backendStatus,
      state: false,
      status: 'maintenance',
      message: 'calibrating',
    };
    expect(await executor.status!(backend)).toMatchObject({
      online: false,
      detail: 'IBM reports maintenance: calibrating',
    });
    fake.state.backendStatus = { ...fake.state.backendStatus, state: true, status: 'active' };
  });

  it('parses IBM’s answers: one in a shape qpipe does not know names the request and the field, and is not retried', async () => {
    const good = fake.state.backendStatus;
    fake.state.backendStatus = { ...good, length_queue: 'seven' as unknown as number };
    const error = await executor.status!(backend).catch((e: unknown) => e);
    fake.state.backendStatus = good;
    expect(error).toBeInstanceOf(SchemaError);
    expect((error as Error).message).toMatch(
      /IBM Quantum's answer to GET \/v1\/backends\/ibm_brisbane\/status is invalid/,
    );
    expect((error as SchemaError).problems).toEqual([
      { path: 'length_queue', message: 'must be an integer (got "seven")' },
    ]);
    expect(retryableOf(error)).toBe(false);
  });

  it('submits a circuit as an ISA sampler PUB once per job run, finding its own tagged job on a duplicate', async () => {
    const first = await executor.execute({ job, circuit: isa, shots: 300, backend });
    const second = await executor.execute({ job, circuit: isa, shots: 300, backend });
    expect(second).toEqual(first);
    const submitted = [...fake.state.jobs.values()].filter((j) => (j.body['tags'] as string[]).includes(runTag(job)));
    expect(submitted).toHaveLength(1);
    const body = submitted[0]!.body as {
      program_id: string;
      backend: string;
      params: { pubs: unknown[][]; version: number };
    };
    expect(body).toMatchObject({ program_id: 'sampler', backend: 'ibm_brisbane', params: { version: 2 } });
    const [source, values, shots] = body.params.pubs[0] as [string, unknown, number];
    expect(values).toBeNull();
    expect(shots).toBe(300);
    // On physical qubits, ecr only where the backend runs it (0→1, 1→2), into the circuit's own registers.
    expectIsa(source);
    expect(source).toMatch(/^data\[1\] = measure \$[012];$/m);
    // The PUB gives the circuit's distribution (qpipe's simulator reading it back).
    expect(await distribution(source)).toEqual(await distribution(isaSource));
  });

  it('decodes per-register hex samples into Qiskit order and bills quantum seconds', async () => {
    const outcome = await executor.execute({ job: { ...job, generation: 2 }, circuit: isa, shots: 4, backend });
    if (outcome.kind !== 'submitted') throw new Error(outcome.kind);
    // Shot values: flag (1 bit) and data (2 bits, bit 0 = data[0]).
    fake.state.samples = {
      flag: { samples: ['0x1', '0x1', '0x1', '0x0'], num_bits: 1 },
      data: { samples: ['0x1', '0x2', '0x1', '0x3'], num_bits: 2 },
    };
    const task = { taskId: outcome.taskId, backend, layout: outcome.layout, shots: 4 };
    expect(await executor.collect!(task)).toEqual({ kind: 'pending', status: 'Queued' });
    expect(await executor.collect!(task)).toEqual({
      kind: 'completed',
      counts: { '01 1': 2, '10 1': 1, '11 0': 1 },
      shots: 4,
      durationMs: 4000,
      billedSeconds: 4,
    });
  });

  it('reports a failed IBM job with IBM’s reason', async () => {
    const outcome = await executor.execute({ job: { ...job, generation: 7 }, circuit: isa, shots: 4, backend });
    if (outcome.kind !== 'submitted') throw new Error(outcome.kind);
    fake.state.failWith = 'Job timed out after 10800 seconds';
    fake.state.pollsBeforeDone = 0;
    expect(await executor.collect!({ taskId: outcome.taskId, backend, layout: outcome.layout, shots: 4 })).toEqual({
      kind: 'failed',
      reason: 'IBM job Failed: Job timed out after 10800 seconds',
    });
    fake.state.failWith = undefined;
    fake.state.pollsBeforeDone = 1;
  });

  it('cancels a job once (POST /v1/jobs/{id}/cancel), and bills the quantum seconds IBM says it used', async () => {
    const outcome = await executor.execute({ job: { ...job, generation: 8 }, circuit: isa, shots: 4, backend });
    if (outcome.kind !== 'submitted') throw new Error(outcome.kind);
    fake.state.pollsBeforeDone = 100;
    const task = { taskId: outcome.taskId, backend, layout: outcome.layout, shots: 4 };
    expect(await executor.cancel!(task)).toEqual({ asked: true, stateWhenAsked: 'Queued' });
    expect(await executor.cancel!(task)).toEqual({ asked: false, stateWhenAsked: 'Cancelled' });
    expect(fake.state.calls.filter((c) => c === `POST /v1/jobs/${outcome.taskId}/cancel`)).toHaveLength(1);
    expect(await executor.collect!({ ...task, cancelledWhile: 'Queued' })).toEqual({
      kind: 'cancelled',
      reason: 'IBM job Cancelled (asked while Queued)',
      billedShots: 0,
      billedSeconds: 4,
    });
    fake.state.pollsBeforeDone = 1;
  });

  it('keeps to five submissions a minute: the sixth is handed back to the bus as retryable, and 429 is retryable', async () => {
    const submit = (generation: number) =>
      executor.execute({
        job: { ...job, name: 'burst', uid: 'burst-uid', generation },
        circuit: isa,
        shots: 10,
        backend,
      });
    for (let g = 1; g <= JOBS_PER_MINUTE; g++) await submit(g);
    const sixth = await submit(99).catch((e: unknown) => e);
    expect((sixth as Error).message).toMatch(/accepts 5 jobs a minute; the next slot opens in \d+ s/);
    expect(retryableOf(sixth)).toBe(true);
    now += 61_000;
    fake.state.nextJobStatus = 429;
    const throttled = await submit(100).catch((e: unknown) => e);
    expect((throttled as Error).message).toContain('429');
    expect(retryableOf(throttled)).toBe(true);
    fake.state.nextJobStatus = 400;
    const refused = await submit(101).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(InvalidInputError);
  });

  it('runs a Bell circuit written in h and cx: transpiled for the device, submitted, counts back in the user’s bits', async () => {
    const bell = compileQasm(
      'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nbit[2] c;\nh q[0];\ncx q[0], q[1];\nx q[1];\nc = measure q;\n',
    ).circuit;
    const outcome = await executor.execute({ job: { ...job, generation: 20 }, circuit: bell, shots: 4, backend });
    if (outcome.kind !== 'submitted') throw new Error(outcome.kind);
    const pub = (fake.state.jobs.get(outcome.taskId)!.body['params'] as { pubs: [string][] }).pubs[0]![0];
    expectIsa(pub);
    expect(pub).not.toMatch(/^(h|cx) /m);
    // IBM samples register c (bit 0 = c[0]); the device outcomes are what the circuit gives: 01 and 10.
    fake.state.samples = { c: { samples: ['0x2', '0x1', '0x2', '0x2'], num_bits: 2 } };
    fake.state.pollsBeforeDone = 0;
    const task = { taskId: outcome.taskId, backend, layout: outcome.layout, shots: 4 };
    expect(await executor.collect!(task)).toMatchObject({ kind: 'completed', counts: { '10': 3, '01': 1 } });
    fake.state.pollsBeforeDone = 1;
    expect(await distribution(pub)).toEqual({ '01': 0.5, '10': 0.5 });
  });

  it('compiles for the device as IBM describes it now (its configuration, read hourly), else for the shipped data', async () => {
    const { supportedGates: _gates, connectivity: _pairs, ...rest } = backend;
    const heron: BackendEntry = { ...rest, name: 'ibm_torino', deviceId: 'ibm_torino', qubits: 133 };
    const ghz = compileQasm(
      'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[3] q;\nbit[3] c;\nh q[0];\ncx q[0], q[1];\ncx q[1], q[2];\nc = measure q;\n',
    ).circuit;
    const pubOf = async (generation: number) => {
      const outcome = await executor.execute({
        job: { ...job, name: 'live', uid: 'live-uid', generation },
        circuit: ghz,
        shots: 10,
        backend: heron,
      });
      if (outcome.kind !== 'submitted') throw new Error(outcome.kind);
      return (fake.state.jobs.get(outcome.taskId)!.body['params'] as { pubs: [string][] }).pubs[0]![0];
    };
    const configurationReads = () => fake.state.calls.filter((c) => c.endsWith('/configuration')).length;
    // IBM's answer: a three-qubit line on qubits 7, 8, 9 with cz.
    fake.state.configuration = {
      n_qubits: 10,
      basis_gates: ['cz', 'id', 'rz', 'sx', 'x'],
      coupling_map: [
        [7, 8],
        [8, 9],
      ],
    };
    const before = configurationReads();
    const live = await pubOf(1);
    expect([...live.matchAll(/\$(\d+)/g)].every(([, q]) => ['7', '8', '9'].includes(q!))).toBe(true);
    expect(live).toMatch(/^cz \$(7, \$8|8, \$7|8, \$9|9, \$8);$/m);
    await pubOf(2);
    expect(configurationReads()).toBe(before + 1);
    // An hour later it is read again; IBM now has no configuration to give: the shipped ibm_torino map stands.
    now += 61 * 60_000;
    fake.state.configuration = undefined;
    const shipped = await pubOf(3);
    expect(configurationReads()).toBe(before + 2);
    expect(shipped).toMatch(/^cz \$\d+, \$\d+;$/m);
    expect(shipped).toBe(transpile(ghz, targetFor(heron)).qasm);
  });

  it('opens a session (mode, max_ttl), runs jobs inside it (session_id), and closes it (also when already gone)', async () => {
    const id = await executor.openSession!(backend, { mode: 'dedicated', maxTimeSeconds: 3600 });
    expect(fake.state.sessions.get(id)?.body).toEqual({ backend: 'ibm_brisbane', mode: 'dedicated', max_ttl: 3600 });
    const outcome = await executor.execute({
      job: { ...job, uid: 'in-session', generation: 1 },
      circuit: isa,
      shots: 5,
      backend,
      sessionId: id,
    });
    if (outcome.kind !== 'submitted') throw new Error(outcome.kind);
    expect(fake.state.jobs.get(outcome.taskId)?.body['session_id']).toBe(id);
    expect(await executor.sessionAcceptsJobs!(backend, id)).toBe(true);
    await executor.closeSession!(backend, id);
    expect(fake.state.sessions.get(id)?.state).toBe('closed');
    expect(await executor.sessionAcceptsJobs!(backend, id)).toBe(false);
    expect(await executor.sessionAcceptsJobs!(backend, 'unknown')).toBe(false);
    // IBM refuses a job for a closed session, with its words; qpipe checks before submitting.
    await expect(
      executor.execute({ job: { ...job, uid: 'late', generation: 1 }, circuit: isa, shots: 5, backend, sessionId: id }),
    ).rejects.toThrow(/Session has already been closed/);
    await expect(executor.closeSession!(backend, 'unknown')).resolves.toBeUndefined();
  });

  it('refuses, before calling IBM, what the device cannot run: more qubits than it couples, classical control', async () => {
    const calls = fake.state.calls.length;
    const four = compileQasm(
      'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[4] q;\ncx q[0], q[1];\ncx q[1], q[2];\ncx q[2], q[3];\n',
    ).circuit;
    await expect(executor.execute({ job, circuit: four, shots: 10, backend })).rejects.toThrow(
      'ibm_brisbane has no 4 connected qubits',
    );
    const control = compileQasm(
      'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[1] q;\nbit[1] c;\nc[0] = measure q[0];\nif (c[0]) x q[0];\n',
    ).circuit;
    await expect(executor.execute({ job, circuit: control, shots: 10, backend })).rejects.toThrow(
      /measurements come last/,
    );
    expect(fake.state.calls.length).toBe(calls);
  });
});
