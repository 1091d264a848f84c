/**
 * moto's server (PyPI, installed by test/tools/install-python-tools.sh): an emulation of AWS
 * APIs that have no local server of their own. The tests use its SQS and EventBridge, which
 * keep queues, rules and targets and deliver between them, its SSM, and its EventBridge
 * Scheduler, which keeps schedules (it does not fire them: tests fire them at their time).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  GetScheduleCommand,
  type GetScheduleCommandOutput,
  ListSchedulesCommand,
  SchedulerClient,
} from '@aws-sdk/client-scheduler';
import { freePort, toolsCache, unavailableUnlessCi } from './kube-apiserver.ts';

const BINARY = join(toolsCache(), 'python-tools-1', 'bin', 'moto_server');

/** Why moto cannot run here, or undefined when it can. */
export function motoMissing(): string | undefined {
  return unavailableUnlessCi(
    existsSync(BINARY) ? undefined : `moto not installed in ${toolsCache()} (run test/tools/install-python-tools.sh)`,
  );
}

/** A running moto server. */
export interface MotoServer {
  readonly endpoint: string;
  /** Environment that points the AWS SDK (and so the qpipe CLI) at it. */
  readonly env: Record<string, string>;
  close(): Promise<void>;
}

/** Starts moto's server on a free loopback port. */
export async function startMoto(): Promise<MotoServer> {
  const port = await freePort();
  const child: ChildProcess = spawn(BINARY, ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (
    !(await fetch(`${endpoint}/moto-api/`).then(
      (r) => r.ok,
      () => false,
    ))
  ) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`moto did not start (exit ${child.exitCode})`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    endpoint,
    env: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
    },
    close: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    },
  };
}

/** Every schedule moto's EventBridge Scheduler holds, as GetSchedule describes it, oldest first. */
export async function schedulesIn(moto: MotoServer, region = 'eu-west-1'): Promise<GetScheduleCommandOutput[]> {
  const client = schedulerClient(moto, region);
  const { Schedules } = await client.send(new ListSchedulesCommand({}));
  const described = await Promise.all(
    (Schedules ?? []).map((s) => client.send(new GetScheduleCommand({ Name: s.Name, GroupName: s.GroupName }))),
  );
  return described.sort((a, b) => (a.CreationDate?.getTime() ?? 0) - (b.CreationDate?.getTime() ?? 0));
}

/** An EventBridge Scheduler client of moto's (which keeps schedules per region). */
export function schedulerClient(moto: MotoServer, region = 'eu-west-1'): SchedulerClient {
  return new SchedulerClient({
    region,
    endpoint: moto.endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
}

/** Starts moto before the tests of the enclosing describe, stops it after; returns its getter. */
export function useMoto(): () => MotoServer {
  let moto: MotoServer | undefined;
  beforeAll(async () => {
    moto = await startMoto();
  }, 60_000);
  afterAll(async () => moto?.close());
  return () => {
    if (!moto) throw new Error('moto is not running');
    return moto;
  };
}
