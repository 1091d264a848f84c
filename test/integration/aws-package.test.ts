/**
 * `npm run package:aws` renders the CloudFormation template offline (osls, no AWS
 * account); this checks every function, rule, dead-letter queue, IAM statement and bucket
 * setting, and the size of each bundle.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readFileSync, statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { beforeAll, describe, expect, it } from 'vitest';
import { SUBSCRIPTIONS } from '../../events/types.ts';
import { renderServerlessYaml } from '../../infra/aws/render.ts';
import { toolsCache, unavailableUnlessCi } from '../support/kube-apiserver.ts';

/** The checkers test/tools/install-python-tools.sh installs. */
const CHECKERS = join(toolsCache(), 'python-tools-1', 'bin');
const checkersMissing = unavailableUnlessCi(
  existsSync(join(CHECKERS, 'checkov'))
    ? undefined
    : `checkov not installed in ${CHECKERS} (run test/tools/install-python-tools.sh)`,
);
const TEMPLATE = '.serverless/cloudformation-template-update-stack.json';

const ROOT = new URL('../../', import.meta.url).pathname;
/** The most a stage's bundle may weigh (they are about 1.4 MiB). */
const BUNDLE_LIMIT = 3 * 1024 * 1024;

interface Resource {
  Type: string;
  Properties: Record<string, unknown> & {
    FunctionName?: string;
    Runtime?: string;
    Architectures?: string[];
    MemorySize?: number;
    EventPattern?: { 'detail-type'?: string[]; source?: string[] };
    EventBusName?: unknown;
    Targets?: { Arn: { 'Fn::GetAtt': [string, string] }; RetryPolicy?: unknown; DeadLetterConfig?: unknown }[];
    Policies?: { PolicyDocument: { Statement: { Action: string[] }[] } }[];
  };
}

describe('AWS packaging (osls, offline)', () => {
  let resources: Record<string, Resource>;
  beforeAll(() => {
    execFileSync('npm', ['run', 'package:aws'], { cwd: ROOT, stdio: 'ignore', timeout: 240_000 });
    const template = JSON.parse(
      readFileSync(`${ROOT}.serverless/cloudformation-template-update-stack.json`, 'utf8'),
    ) as { Resources: Record<string, Resource> };
    resources = template.Resources;
  }, 300_000);

  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const functionNamed = (stage: string) =>
    ofType('AWS::Lambda::Function').find(([, r]) => r.Properties.FunctionName === `qpipe-dev-${stage}`)?.[1];
  const actionsOf = (role: string) =>
    (resources[role]?.Properties.Policies ?? []).flatMap((p) => p.PolicyDocument.Statement.flatMap((s) => s.Action));

  it('keeps serverless.yml identical to what the catalog generates', () => {
    expect(readFileSync(`${ROOT}serverless.yml`, 'utf8'), 'serverless.yml is stale: run npm run gen').toBe(
      renderServerlessYaml(),
    );
  });

  it('has one nodejs24.x arm64 function per stage, small except execute', () => {
    for (const stage of Object.keys(SUBSCRIPTIONS)) {
      const fn = functionNamed(stage);
      expect(fn?.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'] });
      if (stage === 'execute') expect(fn?.Properties.MemorySize).toBe(3008);
      else expect(fn?.Properties.MemorySize).toBeLessThanOrEqual(512);
    }
  });

  it('routes each stage by source and detail-type on the custom bus, plus Braket task changes to collect-results, each with retries and a dead-letter queue', () => {
    const rules = ofType('AWS::Events::Rule').map(([, r]) => r.Properties);
    for (const [stage, types] of Object.entries(SUBSCRIPTIONS)) {
      const own = rules.filter((r) => String(r['Name']).startsWith(`qpipe-dev-${stage}-rule-`));
      const patterns = own.filter((r) => r.EventBusName !== undefined).map((r) => r.EventPattern);
      expect(patterns.length, stage).toBeGreaterThan(0);
      // Every subscribed type is routed, and each only from one named source per rule.
      const routed = new Set(patterns.flatMap((p) => p?.['detail-type'] ?? []));
      // (The API server's events never reach EventBridge; Braket's come on the default bus, below.)
      expect([...routed].sort()).toEqual(
        types.filter((t) => t !== 'Braket Task State Change' && !t.startsWith('dev.knative.')).sort(),
      );
      expect(patterns.every((p) => p?.source?.length === 1 && p.source[0]?.startsWith('/qpipe/'))).toBe(true);
      for (const rule of own) {
        expect(rule.Targets?.[0]?.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 8 });
        expect(rule.Targets?.[0]?.DeadLetterConfig).toBeDefined();
      }
    }
    // Internal events from a stage that does not emit them reach no one.
    const validated = rules.filter((r) => r.EventPattern?.['detail-type']?.includes('io.quantum.job.validated'));
    expect(new Set(validated.flatMap((r) => r.EventPattern?.source ?? []))).toEqual(new Set(['/qpipe/validate']));
    const braket = rules.find((r) => r.EventPattern?.source?.[0] === 'aws.braket');
    expect(braket?.EventPattern).toEqual({ source: ['aws.braket'], 'detail-type': ['Braket Task State Change'] });
    expect(braket?.EventBusName).toBeUndefined();
    expect(ofType('AWS::SQS::Queue')).toHaveLength(6);
    expect(ofType('AWS::Events::Archive')).toHaveLength(1);
  });

  it('sends an event a function failed twice to its queue (on-failure destination), with alarms on queues and errors', () => {
    const configs = ofType('AWS::Lambda::EventInvokeConfig').map(([, r]) => r.Properties);
    expect(configs).toHaveLength(Object.keys(SUBSCRIPTIONS).length);
    for (const config of configs) {
      expect(config['MaximumRetryAttempts']).toBe(2);
      expect(JSON.stringify(config['DestinationConfig'])).toMatch(/DeadLetters/);
    }
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, r]) => r.Properties);
    expect(alarms.filter((a) => a['MetricName'] === 'ApproximateNumberOfMessagesVisible')).toHaveLength(6);
    expect(alarms.filter((a) => a['MetricName'] === 'Errors')).toHaveLength(6);
  });

  it('lets each function put events only as itself, and a CI principal only request jobs', () => {
    for (const stage of Object.keys(SUBSCRIPTIONS)) {
      const role = Object.entries(resources).find(
        ([name]) => name.toLowerCase() === `${stage.replace('-', '')}role`,
      )?.[1];
      const statements = (role?.Properties.Policies ?? []).flatMap(
        (p) => p.PolicyDocument.Statement as { Action: string[]; Condition?: unknown; Resource: unknown }[],
      );
      const put = statements.find((s) => s.Action.includes('events:PutEvents'));
      expect(put?.Condition, stage).toEqual({ StringEquals: { 'events:source': `/qpipe/${stage}` } });
      // No statement on every resource where an ARN pattern exists.
      expect(
        statements.filter((s) => s.Resource === '*'),
        stage,
      ).toEqual([]);
      // Reading keys that may be missing: list permission, on qpipe's prefixes only.
      expect(statements.find((s) => s.Action.includes('s3:ListBucket'))?.Condition).toMatchObject({
        StringLike: { 's3:prefix': expect.arrayContaining(['runs/*', 'ledgers/*', 'status/*']) },
      });
    }
    const submit = resources['SubmitJobsPolicy']?.Properties as unknown as {
      PolicyDocument: { Statement: { Condition: unknown }[] };
    };
    expect(submit.PolicyDocument.Statement[0]?.Condition).toEqual({
      StringEquals: { 'events:source': '/qpipe/submit', 'events:detail-type': 'io.quantum.job.requested' },
    });
  });

  it('grants least privilege: only execute may run Braket tasks, validate may not call Braket, only notify may send mail', () => {
    expect(actionsOf('ExecuteRole')).toContain('braket:CreateQuantumTask');
    expect(actionsOf('ValidateRole').some((a) => a.startsWith('braket:'))).toBe(false);
    for (const role of ['ValidateRole', 'SelectBackendRole', 'EnforceBudgetRole', 'CollectResultsRole', 'NotifyRole']) {
      expect(actionsOf(role), role).not.toContain('braket:CreateQuantumTask');
    }
    for (const role of [
      'ValidateRole',
      'SelectBackendRole',
      'EnforceBudgetRole',
      'ExecuteRole',
      'CollectResultsRole',
    ]) {
      expect(
        actionsOf(role).some((a) => a.startsWith('ses:')),
        role,
      ).toBe(false);
    }
    expect(actionsOf('NotifyRole')).toContain('ses:SendEmail');
  });

  it('keeps results in an encrypted, private bucket that forgets old results', () => {
    const bucket = resources['ResultsBucket']?.Properties as Record<string, unknown>;
    expect(bucket['BucketEncryption']).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
    expect(bucket['PublicAccessBlockConfiguration']).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(JSON.stringify(bucket['LifecycleConfiguration'])).toContain('"ExpirationInDays":90');
  });

  it('gives Braket a results bucket its service-linked role may write (amazon-braket-*), readable by collect-results', () => {
    const bucket = resources['BraketResultsBucket']?.Properties as Record<string, unknown>;
    expect(JSON.stringify(bucket['BucketName'])).toMatch(
      /"amazon-braket-\$\{AWS::AccountId\}-\$\{AWS::Region\}-qpipe-dev"/,
    );
    expect(JSON.stringify(resources['CollectResultsRole'])).toContain('BraketResultsBucket');
  });

  it('bundles each stage on its own, under the size limit, with no Braket SDK in validate', () => {
    for (const stage of Object.keys(SUBSCRIPTIONS)) {
      expect(statSync(`${ROOT}.build/${stage}/index.mjs`).size, stage).toBeLessThan(BUNDLE_LIMIT);
    }
    expect(readFileSync(`${ROOT}.build/validate/index.mjs`, 'utf8')).not.toMatch(
      /CreateQuantumTask|BraketServiceException|GetQuantumTask/,
    );
  });

  it('ships the simulator worker beside the execute bundle, and that worker runs passes on a shared state', async () => {
    // Two qubits in |00>; the worker applies X on qubit 1, leaving |10> (amplitude index 2).
    const state = new SharedArrayBuffer(16 * 4);
    new Float64Array(state)[0] = 1;
    const task = {
      buffer: state,
      precision: 'double',
      numQubits: 2,
      ops: [{ kind: 'x', qubits: [1], controls: 0 }],
      index: 0,
      threads: 1,
      barrier: new SharedArrayBuffer(8),
    };
    // Pool workers stay up between simulations: each task arrives as a message.
    const worker = new Worker(new URL(`${ROOT}.build/execute/simulator-worker.mjs`, 'file://'));
    await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.postMessage(task);
    });
    await worker.terminate();
    expect([...new Float64Array(state)]).toEqual([0, 0, 0, 0, 1, 0, 0, 0]);
  });

  it('ships the simulation worker beside the execute bundle, and it compiles and simulates a circuit', async () => {
    const worker = new Worker(new URL(`${ROOT}.build/execute/simulation-worker.mjs`, 'file://'));
    const reply = await new Promise<{ result?: { counts: Record<string, number> } }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.postMessage({
        id: 1,
        source:
          'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nbit[2] c;\nfor int i in [0:1] { x q[i]; }\nc = measure q;\n',
        limits: {
          maxBytes: 1e6,
          maxQubits: 30,
          maxClbits: 30,
          maxGates: 1e6,
          maxOperations: 1e6,
          maxLoopIterations: 1e6,
          maxNesting: 64,
        },
        options: { shots: 10, seed: 1, threads: 1 },
      });
    });
    await worker.terminate();
    expect(reply.result?.counts).toEqual({ '11': 10 });
  });

  it('ships the circuit checker beside the validate bundle, and that worker checks a circuit', async () => {
    const worker = new Worker(new URL(`${ROOT}.build/validate/circuit-worker.mjs`, 'file://'));
    const reply = await new Promise<{ metadata?: { qubits: number; gateCount: number } }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.postMessage({
        id: 1,
        source: 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[3] q;\nfor int i in [0:2] { h q[i]; }\n',
        options: {},
      });
    });
    await worker.terminate();
    expect(reply.metadata).toMatchObject({ qubits: 3, gateCount: 3 });
  });

  it.skipIf(checkersMissing !== undefined)(
    `passes cfn-lint (no errors) and checkov (every skipped check explained in .checkov.yaml)${checkersMissing ? ` (skipped: ${checkersMissing})` : ''}`,
    () => {
      // cfn-lint's exit code is a bit set: 2 means errors (4, warnings, is the framework's own DependsOn).
      const lint = spawnSync(join(CHECKERS, 'cfn-lint'), [TEMPLATE], { cwd: ROOT, encoding: 'utf8' });
      expect((lint.status ?? 0) & 2, lint.stdout).toBe(0);
      const checkov = spawnSync(
        join(CHECKERS, 'checkov'),
        [
          '-f',
          TEMPLATE,
          '--framework',
          'cloudformation',
          '--config-file',
          '.checkov.yaml',
          '--skip-download',
          '--compact',
          '--quiet',
        ],
        // Without the suite's LOG_LEVEL=silent, which checkov (Python logging) refuses.
        { cwd: ROOT, encoding: 'utf8', timeout: 240_000, env: { ...process.env, LOG_LEVEL: 'WARNING' } },
      );
      expect(checkov.status, checkov.stdout).toBe(0);
      expect(checkov.stdout).toMatch(/Failed checks: 0/);
    },
    300_000,
  );
});
