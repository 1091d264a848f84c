import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEvent } from '../../events/envelope.ts';
import { EventType } from '../../events/types.ts';
import { stage as validateStage } from '../../functions/validate/handler.ts';
import { runStage } from '../../shared/runtime/stage.ts';
import { type CircuitUrlPolicy, createCircuitFetcher } from '../../shared/storage/fetch-circuit.ts';
import { jobManifest } from '../support/manifests.ts';
import { memoryPorts, received } from '../support/memory-ports.ts';

const BELL = 'OPENQASM 3;\ninclude "stdgates.inc";\nqubit[2] q;\nh q[0];\ncx q[0], q[1];\n';
const SECRET = 'root:SECRET-TOKEN-a1b2c3';
const MiB = 1024 * 1024;

/** A real HTTP server on loopback; each path plays a server a job might point at. */
let server: Server;
let base: string;
let streamedBytes = 0;
const routes: Record<string, (res: ServerResponse) => void> = {
  '/bell.qasm': (res) => res.end(BELL),
  '/secret': (res) => res.end(`${SECRET}\nmore private lines\n`),
  '/missing': (res) => res.writeHead(404).end(SECRET),
  '/to-metadata': (res) => res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end(),
  '/to-localhost': (res) => res.writeHead(302, { location: `http://localhost:${port()}/bell.qasm` }).end(),
  '/to-bell': (res) => res.writeHead(301, { location: '/bell.qasm' }).end(),
  '/loop': (res) => res.writeHead(302, { location: '/loop' }).end(),
  '/endless': (res) => {
    // Chunked (no content-length) and never ending: only a cap enforced while streaming stops it.
    res.writeHead(200, { 'content-type': 'text/plain' });
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const pump = () => {
      while (!res.destroyed && res.write(chunk)) streamedBytes += chunk.length;
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
  },
  // A valid circuit's first lines, then nothing more: the rest never comes.
  '/stalls-mid-body': (res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('OPENQASM 3;\nqubit[2] q;\nh q[0];\n');
  },
  // Promises more than it sends, then hangs up.
  '/cut-short': (res) => {
    res.writeHead(200, { 'content-length': String(BELL.length + 100) });
    res.write(BELL);
    setTimeout(() => res.destroy(), 50);
  },
  '/slow': (res) => {
    res.writeHead(200);
    const timer = setInterval(() => res.write('x'), 100);
    res.on('close', () => clearInterval(timer));
  },
};
const port = () => (server.address() as AddressInfo).port;

beforeAll(async () => {
  server = createServer((req, res) => (routes[req.url ?? ''] ?? ((r) => r.writeHead(404).end()))(res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${port()}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const loopbackAllowed: CircuitUrlPolicy = { hosts: ['127.0.0.1'], allowedRanges: ['127.0.0.0/8'], timeoutMs: 2000 };
const publicOnly: CircuitUrlPolicy = { hosts: ['*'], allowedRanges: [], timeoutMs: 2000 };

describe('circuit URLs (real HTTP server on loopback; DNS is the machine resolver)', () => {
  it('fetches an allowed host and follows a relative redirect', async () => {
    const fetchCircuit = createCircuitFetcher(loopbackAllowed);
    expect(await fetchCircuit(`${base}/bell.qasm`, MiB)).toBe(BELL);
    expect(await fetchCircuit(`${base}/to-bell`, MiB)).toBe(BELL);
  });

  it.each([
    ['loopback', () => `${base}/bell.qasm`, /127\.0\.0\.1 resolves to 127\.0\.0\.1, a loopback, private/],
    [
      'a name resolving to loopback',
      () => `http://localhost:${port()}/bell.qasm`,
      /localhost resolves to (127\.0\.0\.1|::1)/,
    ],
    ['decimal-encoded loopback', () => `http://2130706433:${port()}/bell.qasm`, /resolves to 127\.0\.0\.1/],
    ['IPv6 loopback', () => `http://[::1]:${port()}/bell.qasm`, /::1 resolves to ::1/],
    ['IPv4-mapped IPv6 loopback', () => `http://[::ffff:127.0.0.1]:${port()}/`, /resolves to ::ffff:7f00:1/],
    ['the cloud metadata address', () => 'http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254/],
    ['a private address', () => 'http://10.1.2.3/circuit.qasm', /10\.1\.2\.3/],
  ])('refuses %s unless its range is allowed', async (_case, url, message) => {
    await expect(createCircuitFetcher(publicOnly)(url(), MiB)).rejects.toThrow(message);
  });

  it('checks every redirect: to the metadata address, and to a host the list does not allow', async () => {
    const fetchCircuit = createCircuitFetcher(loopbackAllowed);
    await expect(fetchCircuit(`${base}/to-metadata`, MiB)).rejects.toThrow(/169\.254\.169\.254 is not an allowed host/);
    await expect(fetchCircuit(`${base}/to-localhost`, MiB)).rejects.toThrow(/localhost is not an allowed host/);
    await expect(fetchCircuit(`${base}/loop`, MiB)).rejects.toThrow(/more than 5 redirects/);
  });

  it('refuses every URL where no host is allowed (the default of deployments), naming the setting', async () => {
    const none = createCircuitFetcher({ hosts: [], allowedRanges: [], timeoutMs: 2000 });
    await expect(none(`${base}/bell.qasm`, MiB)).rejects.toThrow(/not enabled here.*QPIPE_CIRCUIT_URL_HOSTS/);
    const listed = createCircuitFetcher({ hosts: ['*.example.org'], allowedRanges: [], timeoutMs: 2000 });
    await expect(listed(`${base}/bell.qasm`, MiB)).rejects.toThrow(/127\.0\.0\.1 is not an allowed host/);
  });

  it('stops a chunked body at the cap while it streams, and closes the connection', async () => {
    streamedBytes = 0;
    await expect(createCircuitFetcher(loopbackAllowed)(`${base}/endless`, MiB)).rejects.toThrow(
      /more than 1048576 bytes; the limit is 1048576/,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    const settled = streamedBytes;
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The server stopped being read, and could not have sent much past the cap (socket buffers).
    expect(streamedBytes).toBe(settled);
    expect(streamedBytes).toBeLessThan(16 * MiB);
  });

  it('fails the fetch, never returns a prefix, when the deadline fires mid-body or the server hangs up early', async () => {
    const fetchCircuit = createCircuitFetcher({ ...loopbackAllowed, timeoutMs: 500 });
    await expect(fetchCircuit(`${base}/stalls-mid-body`, MiB)).rejects.toThrow(/did not finish in time/);
    await expect(fetchCircuit(`${base}/cut-short`, MiB)).rejects.toThrow(
      /ended before the whole circuit arrived|could not fetch/,
    );
  });

  it('gives the whole fetch one deadline', async () => {
    const started = Date.now();
    const fetchCircuit = createCircuitFetcher({ ...loopbackAllowed, timeoutMs: 500 });
    await expect(fetchCircuit(`${base}/slow`, MiB)).rejects.toThrow(/did not finish in time/);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('never repeats what a server sent: not an error page, not a document that fails to parse', async () => {
    const fetchCircuit = createCircuitFetcher(loopbackAllowed);
    const notFound = await fetchCircuit(`${base}/missing`, MiB).catch((error: unknown) => (error as Error).message);
    expect(notFound).toMatch(/answered HTTP 404/);
    expect(notFound).not.toContain('SECRET');

    const job = jobManifest('reflect', { circuit: { source: 'url', url: `${base}/secret` } });
    const ports = { ...memoryPorts(), fetchCircuit };
    const run = await runStage(validateStage, buildEvent(EventType.JobRequested, { job }, { source: '/test' }), ports);
    const rejected = received(run.emitted[0] as never);
    expect(rejected.type).toBe(EventType.JobRejected);
    if (rejected.type !== EventType.JobRejected) return;
    expect(rejected.data.reason).toMatch(/the fetched document is not OpenQASM qpipe runs \(at line:column 1:\d+\)/);
    expect(JSON.stringify(run)).not.toContain('SECRET');
  });
});
