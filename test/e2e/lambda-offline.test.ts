/**
 * A job through all six Lambdas on this machine: the bundled stages under
 * serverless-offline, chained by the rules of serverless.yml on
 * serverless-offline-aws-eventbridge's local bus (the same PutEvents the functions use on
 * AWS). The functions keep their data in a local folder instead of S3.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildEvent } from '../../events/envelope.ts';
import { EventType } from '../../events/types.ts';
import { bundleStages } from '../../infra/aws/bundle.ts';
import { renderOfflineConfig } from '../../infra/aws/offline.ts';
import { ensureAwsTools } from '../../infra/aws/tools.ts';
import { createEventBridgePublisher } from '../../shared/runtime/eventbridge-publisher.ts';
import { MemoryObjectStore } from '../support/memory-ports.ts';

const ROOT = new URL('../../', import.meta.url);
const CONFIG = 'serverless.offline.yml';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const BUILD_DIR = '.build-offline';

describe('Lambdas chained by EventBridge rules, locally (serverless-offline + serverless-offline-aws-eventbridge)', () => {
  let offline: ChildProcess;
  let store: string;
  let busPort: number;

  beforeAll(async () => {
    const osls = ensureAwsTools();
    // Its own folder: the packaging test rebuilds .build at the same time.
    await bundleStages(ROOT, `${BUILD_DIR}/`);
    store = await mkdtemp(join(tmpdir(), 'qpipe-offline-'));
    busPort = await freePort();
    writeFileSync(
      new URL(CONFIG, ROOT),
      renderOfflineConfig({ storeDir: store, busPort, pubSubPort: await freePort(), buildDir: BUILD_DIR }),
    );
    offline = spawn(osls, ['offline', 'start', '--config', CONFIG], {
      cwd: ROOT.pathname,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`serverless-offline did not start: ${out}`)), 90_000);
      const read = (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('Function names exposed')) {
          clearTimeout(timer);
          resolve();
        }
      };
      offline.stdout?.on('data', read);
      offline.stderr?.on('data', read);
    });
  }, 240_000);

  afterAll(() => {
    if (offline.pid) process.kill(-offline.pid, 'SIGINT');
    rmSync(new URL(CONFIG, ROOT), { force: true });
  });

  it('runs a job through validate, select-backend, enforce-budget, execute and collect-results', async () => {
    const job = parse(readFileSync(new URL('examples/bell.yaml', ROOT), 'utf8')) as Record<string, unknown>;
    const client = new EventBridgeClient({
      region: 'eu-west-1',
      endpoint: `http://127.0.0.1:${busPort}`,
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    const requested = buildEvent(
      EventType.JobRequested,
      { job },
      { source: '/ci', subject: 'default/bell', jobuid: 'offline-1', jobgeneration: 1 },
    );
    await createEventBridgePublisher({ client, busName: 'qpipe-dev', store: new MemoryObjectStore() })([requested]);
    const statusFile = join(store, 'status/qiskitjobs/default/bell.json');
    let status:
      { phase?: string; results?: { counts: Record<string, number> }; conditions?: { type: string }[] } | undefined;
    for (let i = 0; i < 120 && status?.phase !== 'Succeeded'; i++) {
      await new Promise((r) => setTimeout(r, 500));
      if (existsSync(statusFile))
        status = (JSON.parse(readFileSync(statusFile, 'utf8')) as { status: typeof status }).status;
    }
    expect(status?.phase).toBe('Succeeded');
    expect(Object.keys(status?.results?.counts ?? {}).sort()).toEqual(['00', '11']);
    // Lambdas run concurrently and EventBridge does not promise order; every condition is there.
    expect(status?.conditions?.map((c) => c.type).sort()).toEqual([
      'BackendSelected',
      'BudgetApproved',
      'Completed',
      'Executed',
      'ResultsStored',
      'Validated',
    ]);
  }, 120_000);
});
