/**
 * A job through all six Lambdas on this machine: the bundled stages under
 * serverless-offline, chained by the rules of serverless.yml on
 * serverless-offline-aws-eventbridge's local bus (the same PutEvents the functions use on
 * AWS). The functions keep their data in a real S3 server (MinIO) when one is built, and
 * read budgets and backends from it, as `qpipe apply` stored them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildEvent } from '../../events/envelope.ts';
import { EventType } from '../../events/types.ts';
import { alarmResources } from '../../infra/aws/alarms.ts';
import { bundleStages } from '../../infra/aws/bundle.ts';
import { renderOfflineConfig } from '../../infra/aws/offline.ts';
import { ensureAwsTools } from '../../infra/aws/tools.ts';
import { createEventBridgePublisher } from '../../shared/runtime/eventbridge-publisher.ts';
import { MemoryObjectStore } from '../support/memory-ports.ts';
import { type MinioServer, minioMissing, startMinio } from '../support/minio.ts';
import { type MotoServer, motoMissing, schedulesIn, startMoto } from '../support/moto.ts';
import { S3ObjectStore } from '../../shared/storage/s3-object-store.ts';

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
/** The functions' region here: MinIO's settings (us-east-1) win over the offline default. */
const LAMBDA_REGION = 'us-east-1';

const BIN = new URL('../../bin/qpipe.js', import.meta.url).pathname;
const run = promisify(execFile);

describe('Lambdas chained by EventBridge rules, locally (serverless-offline + serverless-offline-aws-eventbridge, MinIO)', () => {
  let offline: ChildProcess;
  let store: string;
  let busPort: number;
  let minio: MinioServer | undefined;

  let moto: MotoServer | undefined;

  beforeAll(async () => {
    if (minioMissing() === undefined) minio = await startMinio(['qpipe']);
    // Delays go to EventBridge Scheduler: moto's keeps the schedules; the test fires them.
    if (motoMissing() === undefined) moto = await startMoto();
    const osls = ensureAwsTools();
    // Its own folder: the packaging test rebuilds .build at the same time.
    await bundleStages(ROOT, `${BUILD_DIR}/`);
    store = await mkdtemp(join(tmpdir(), 'qpipe-offline-'));
    busPort = await freePort();
    writeFileSync(
      new URL(CONFIG, ROOT),
      renderOfflineConfig({
        storeDir: store,
        busPort,
        pubSubPort: await freePort(),
        buildDir: BUILD_DIR,
        ...(minio
          ? {
              s3: {
                ...minio.env('qpipe'),
                ...(moto ? { AWS_ENDPOINT_URL_SCHEDULER: moto.endpoint } : {}),
                QPIPE_EVENT_BUS_ARN: 'arn:aws:events:eu-west-1:000000000000:event-bus/qpipe-dev',
                QPIPE_SCHEDULER_ROLE_ARN: 'arn:aws:iam::000000000000:role/qpipe-dev-SchedulerRole',
              },
            }
          : {}),
      }),
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

  afterAll(async () => {
    if (offline.pid) process.kill(-offline.pid, 'SIGINT');
    rmSync(new URL(CONFIG, ROOT), { force: true });
    await minio?.close();
    await moto?.close();
  });

  /** A job's status where the functions keep it. */
  async function statusOfIn(namespace: string, name: string): Promise<Record<string, unknown> | undefined> {
    if (minio) {
      const text = await minio.client
        .send(new GetObjectCommand({ Bucket: 'qpipe', Key: `status/qiskitjobs/${namespace}/${name}.json` }))
        .then(
          (r) => r.Body?.transformToString(),
          () => undefined,
        );
      return text === undefined ? undefined : (JSON.parse(text) as { status: Record<string, unknown> }).status;
    }
    const file = join(store, `status/qiskitjobs/${namespace}/${name}.json`);
    return existsSync(file)
      ? (JSON.parse(readFileSync(file, 'utf8')) as { status: Record<string, unknown> }).status
      : undefined;
  }

  it('runs a job through validate, select-backend, enforce-budget, execute and collect-results', async () => {
    const job = parse(readFileSync(new URL('examples/bell.yaml', ROOT), 'utf8')) as Record<string, unknown>;
    await submit(job, 'offline-1');
    const status = (await phaseOf('default', 'bell', 'Succeeded')) as
      { phase?: string; results?: { counts: Record<string, number> }; conditions?: { type: string }[] } | undefined;
    expect(status?.phase, JSON.stringify(status)).toBe('Succeeded');
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

  it.skipIf(minioMissing() !== undefined)(
    'charges a budget that qpipe apply stored, for a job on a backend it stored',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'qpipe-apply-'));
      const resources = join(dir, 'resources.yaml');
      writeFileSync(
        resources,
        [
          'apiVersion: quantum.io/v1\nkind: QiskitBackend\nmetadata: {name: metered, namespace: default}\nspec: {provider: local_simulator, pricing: {perShot: "$0.01"}}',
          'apiVersion: quantum.io/v1\nkind: QiskitBudget\nmetadata: {name: team, namespace: default}\nspec: {limit: "$10.00", period: monthly}',
        ].join('\n---\n'),
      );
      const env = { ...process.env, ...minio?.env('qpipe'), LOG_LEVEL: 'silent' };
      const applied = await run(process.execPath, [BIN, 'apply', '-f', resources], { env });
      expect(applied.stdout).toMatch(/qiskitbudgets\/default\/team configured/);
      const job = parse(readFileSync(new URL('examples/bell.yaml', ROOT), 'utf8')) as {
        metadata: Record<string, unknown>;
        spec: Record<string, unknown>;
      };
      job.metadata = { ...job.metadata, name: 'metered-bell' };
      job.spec = { ...job.spec, backend: { name: 'metered' }, execution: { shots: 100 } };
      await submit(job, 'offline-2');
      const status = await phaseOf('default', 'metered-bell', 'Succeeded');
      expect(status, JSON.stringify(status)).toMatchObject({ phase: 'Succeeded', actualCost: '$1.00' });
      // The budget's books, as qpipe get shows them.
      let budgets = '';
      for (let i = 0; i < 20 && !budgets.includes('$1.00'); i++) {
        await new Promise((r) => setTimeout(r, 250));
        budgets = (await run(process.execPath, [BIN, 'get', 'budgets', '-A'], { env })).stdout;
      }
      expect(budgets).toMatch(/default\s+team\s+\$1\.00\s+\$10\.00\s+monthly/);
    },
    120_000,
  );

  /** Puts a job request on the local bus as qpipe submit does (its data by reference when large). */
  /** A client of the local bus. */
  function bus(): EventBridgeClient {
    return new EventBridgeClient({
      region: 'eu-west-1',
      endpoint: `http://127.0.0.1:${busPort}`,
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
  }

  async function submit(job: Record<string, unknown>, uid: string) {
    const metadata = job['metadata'] as { namespace?: string; name: string };
    const client = bus();
    const requested = buildEvent(
      EventType.JobRequested,
      { job },
      {
        source: '/qpipe/submit',
        subject: `${metadata.namespace ?? 'default'}/${metadata.name}`,
        jobuid: uid,
        jobgeneration: 1,
      },
    );
    const store = minio ? new S3ObjectStore(minio.client, 'qpipe') : new MemoryObjectStore();
    await createEventBridgePublisher({ client, busName: 'qpipe-dev', store })([requested]);
  }

  /** The job's status once it reaches `phase` (or the last seen, after 60 s). */
  async function phaseOf(namespace: string, name: string, phase: string) {
    let status: Record<string, unknown> | undefined;
    for (let i = 0; i < 120 && status?.['phase'] !== phase; i++) {
      await new Promise((r) => setTimeout(r, 500));
      status = await statusOfIn(namespace, name);
    }
    return status;
  }

  it.skipIf(minioMissing() !== undefined)(
    'runs a job whose request is over 256 KB: its data travels by reference and the functions fetch it back',
    async () => {
      const code = `OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n${'h q[0];\nh q[0];\n'.repeat(20_000)}cx q[0], q[1];\nmeasure q -> c;\n`;
      expect(code.length).toBeGreaterThan(256 * 1024);
      await submit(
        {
          apiVersion: 'quantum.io/v1',
          kind: 'QiskitJob',
          metadata: { name: 'big-circuit', namespace: 'default' },
          spec: { circuit: { source: 'inline', code }, execution: { shots: 100, seedSimulator: 1 } },
        },
        'offline-big',
      );
      const status = await phaseOf('default', 'big-circuit', 'Succeeded');
      expect(status?.['phase'], JSON.stringify(status)).toBe('Succeeded');
      // The request went by reference (bodyref), the circuit too (circuitref).
      const stored = await minio?.client.send(new ListObjectsV2Command({ Bucket: 'qpipe', Prefix: 'events/' }));
      expect(stored?.Contents?.length).toBeGreaterThanOrEqual(1);
    },
    120_000,
  );

  it.skipIf(minioMissing() !== undefined || motoMissing() !== undefined)(
    'holds a job for budget without holding a function, and approves it when its schedule fires after the limit is raised',
    async () => {
      const env = { ...process.env, ...minio?.env('qpipe'), LOG_LEVEL: 'silent' };
      const dir = await mkdtemp(join(tmpdir(), 'qpipe-held-'));
      // A budget of its own namespace, and a priced backend there: 100 shots cost $1.00.
      const resources = (limit: string) =>
        [
          'apiVersion: quantum.io/v1\nkind: QiskitBackend\nmetadata: {name: metered, namespace: tight}\nspec: {provider: local_simulator, pricing: {perShot: "$0.01"}}',
          `apiVersion: quantum.io/v1\nkind: QiskitBudget\nmetadata: {name: tight, namespace: tight}\nspec: {limit: "${limit}", period: monthly, enforcement: {blockOnExceed: true, gracePeriod: 1h}}`,
        ].join('\n---\n');
      const file = join(dir, 'resources.yaml');
      writeFileSync(file, resources('$0.10'));
      await run(process.execPath, [BIN, 'apply', '-f', file], { env });
      const job = parse(readFileSync(new URL('examples/bell.yaml', ROOT), 'utf8')) as {
        metadata: Record<string, unknown>;
        spec: Record<string, unknown>;
      };
      job.metadata = { ...job.metadata, name: 'held-bell', namespace: 'tight' };
      job.spec = { ...job.spec, backend: { name: 'metered' }, execution: { shots: 100 } };
      const before = moto ? (await schedulesIn(moto, LAMBDA_REGION)).length : 0;
      await submit(job, 'offline-held');
      expect((await phaseOf('tight', 'held-bell', 'AwaitingBudget'))?.['phase']).toBe('AwaitingBudget');
      // The re-check is a schedule, not a waiting function.
      const schedules = moto ? (await schedulesIn(moto, LAMBDA_REGION)).slice(before) : [];
      expect(schedules.map((s) => s.Target?.EventBridgeParameters?.DetailType)).toContain(EventType.JobHeld);
      // The owner raises the limit; then the schedule fires: Scheduler puts its input on the bus.
      writeFileSync(file, resources('$5.00'));
      await run(process.execPath, [BIN, 'apply', '-f', file], { env });
      const held = schedules.find((s) => s.Target?.EventBridgeParameters?.DetailType === EventType.JobHeld);
      // Scheduler fires at the schedule's time (at() is UTC to the second).
      const at = Date.parse(`${/^at\((.+)\)$/.exec(held?.ScheduleExpression ?? '')?.[1]}Z`);
      await new Promise((r) => setTimeout(r, Math.max(0, at + 1000 - Date.now())));
      await bus().send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: 'qpipe-dev',
              DetailType: held?.Target?.EventBridgeParameters?.DetailType,
              Source: held?.Target?.EventBridgeParameters?.Source,
              Detail: held?.Target?.Input,
            },
          ],
        }),
      );
      expect((await phaseOf('tight', 'held-bell', 'Succeeded'))?.['phase']).toBe('Succeeded');
    },
    120_000,
  );

  it.skipIf(minioMissing() !== undefined || motoMissing() !== undefined)(
    "npm run smoke:aws --stack runs README's flow against the stack: budget, Bell job, result, and an alarm topic CloudWatch can use (stack outputs and topic from moto's CloudFormation, SNS and KMS)",
    async () => {
      if (!moto || !minio) throw new Error('unreachable');
      // The alarm topic under the stack's key (its policy as the template writes it), and a stack
      // with the outputs the smoke test reads. (moto's CloudFormation returns a key policy it made
      // as an object, not AWS's JSON string: the key and topic are made through their own APIs.)
      const aws = {
        region: LAMBDA_REGION,
        endpoint: moto.endpoint,
        credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      };
      const keyProperties = (alarmResources()['AlarmTopicKey'] as { Properties: { KeyPolicy: unknown } }).Properties;
      const policy = JSON.stringify(keyProperties.KeyPolicy)
        .replaceAll(
          '{"Fn::Sub":"arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}',
          '"arn:aws:iam::123456789012:root"',
        )
        .replaceAll('{"Ref":"AWS::AccountId"}', '"123456789012"');
      const key = await new KMSClient(aws).send(new CreateKeyCommand({ Policy: policy }));
      const topic = await new SNSClient(aws).send(
        new CreateTopicCommand({ Name: 'qpipe-alarms', Attributes: { KmsMasterKeyId: key.KeyMetadata?.KeyId ?? '' } }),
      );
      await new CloudFormationClient(aws).send(
        new CreateStackCommand({
          StackName: 'qpipe-smoke',
          TemplateBody: JSON.stringify({
            Resources: { Placeholder: { Type: 'AWS::SNS::Topic' } },
            Outputs: {
              EventBusName: { Value: 'qpipe-dev' },
              ResultsBucketName: { Value: 'qpipe' },
              AlarmTopicArn: { Value: topic.TopicArn },
            },
          }),
        }),
      );
      const endpoints = Object.fromEntries(
        ['CLOUDFORMATION', 'SNS', 'KMS', 'STS'].map((service) => [`AWS_ENDPOINT_URL_${service}`, moto!.endpoint]),
      );
      const env = {
        ...process.env,
        ...minio.env('qpipe'),
        ...endpoints,
        AWS_ENDPOINT_URL_EVENTBRIDGE: `http://127.0.0.1:${busPort}`,
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        LOG_LEVEL: 'silent',
      };
      const smoke = await run(
        'npm',
        ['run', '--silent', 'smoke:aws', '--', '--stack', 'qpipe-smoke', '--timeout', '60'],
        {
          cwd: ROOT.pathname,
          env,
        },
      );
      expect(smoke.stdout).toMatch(
        /^ok {3}submit: budget qpipe-smoke\/smoke applied, job qpipe-smoke\/bell-\d+ on qpipe-dev$/m,
      );
      expect(smoke.stdout).toMatch(/^ok {3}job finished: Succeeded on local-simulator$/m);
      expect(smoke.stdout).toMatch(/^ok {3}result: s3:\/\/qpipe\/runs\/qpipe-smoke\/bell-\d+\/.*"00":\d+/m);
      expect(smoke.stdout).toMatch(/^ok {3}alarm topic key: key \S+ lets CloudWatch encrypt/m);

      // A topic under the AWS-managed SNS key: alarms could never reach anyone, and the smoke test says so.
      const managed = await new SNSClient(aws).send(
        new CreateTopicCommand({ Name: 'managed-key-alarms', Attributes: { KmsMasterKeyId: 'alias/aws/sns' } }),
      );
      const failed = await run(
        'npm',
        [
          'run',
          '--silent',
          'smoke:aws',
          '--',
          '--bus',
          'qpipe-dev',
          '--bucket',
          'qpipe',
          '--topic',
          managed.TopicArn ?? '',
        ],
        { cwd: ROOT.pathname, env },
      ).then(
        () => undefined,
        (error: unknown) => error as { code: number; stdout: string },
      );
      expect(failed?.code).toBe(1);
      expect(failed?.stdout).toMatch(
        /^FAIL alarm topic key: .* uses alias\/aws\/sns, which CloudWatch alarms cannot use$/m,
      );
    },
    120_000,
  );
});
