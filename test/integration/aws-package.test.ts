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
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { parse } from 'yaml';
import { SUBSCRIPTIONS, stageSource, type Stage } from '../../events/types.ts';
import { renderServerlessYaml, RETENTION_DAYS, STATUS_READS } from '../../infra/aws/render.ts';
import { renderBraketRegionTemplate } from '../../infra/aws/braket-region.ts';
import { BRAKET_REGIONS } from '../../infra/aws/braket-regions.ts';
import { ensureAwsTools } from '../../infra/aws/tools.ts';
import { RUNBOOK_PAGES } from '../../infra/runbooks.ts';
import { builtinBackends } from '../../shared/backends/catalog.ts';
import { deviceRegion } from '../../shared/backends/braket/braket-executor.ts';
import { jobNameKey, jobStatusKey } from '../../shared/cluster/local-cluster.ts';
import { loadConfig } from '../../shared/config.ts';
import { applyConditions } from '../support/cloudformation.ts';
import { toolsCache, unavailableUnlessCi } from '../support/kube-apiserver.ts';

/** The checkers test/tools/install-python-tools.sh installs. */
const CHECKERS = join(toolsCache(), 'python-tools-1', 'bin');
const checkersMissing = unavailableUnlessCi(
  existsSync(join(CHECKERS, 'checkov'))
    ? undefined
    : `checkov not installed in ${CHECKERS} (run test/tools/install-python-tools.sh)`,
);
const TEMPLATE = '.serverless/cloudformation-template-update-stack.json';
const REGIONAL_TEMPLATE = 'infra/aws/braket-region.yaml';
/** Braket actions that take no resource type (Service Authorization Reference, read 2026-12-07). */
const RESOURCELESS = new Set(['braket:GetDevice', 'braket:CreateQuantumTask']);

const ROOT = new URL('../../', import.meta.url).pathname;
/** The most a stage's bundle may weigh (they are about 1.4 MiB). */
const BUNDLE_LIMIT = 3 * 1024 * 1024;
/** Functions a schedule invokes: the next run does their work, so they have no dead-letter queue. */
const SCHEDULED_CONFIGS = ['TimerLambdaEvConf', 'BackupLambdaEvConf'];

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
    // As CloudFormation deploys it with the default parameters (opt-ins off).
    resources = applyConditions(template).template.Resources;
  }, 300_000);

  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const functionNamed = (stage: string) =>
    ofType('AWS::Lambda::Function').find(([, r]) => r.Properties.FunctionName === `qpipe-dev-${stage}`)?.[1];
  const roleName = (stage: string) => `${stage.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase())}Role`;
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
      // (The API server's events never reach EventBridge; Braket's are forwarded to the bus, below.)
      expect([...routed].sort()).toEqual(types.filter((t) => !t.startsWith('dev.knative.')).sort());
      expect(
        patterns
          .filter((p) => p?.source?.[0] !== 'aws.braket')
          .every((p) => p?.source?.length === 1 && p.source[0]?.startsWith('/qpipe/')),
      ).toBe(true);
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
    // Forwarded from every device region's default bus to the qpipe bus (infra/aws/braket-region.yaml).
    expect(braket?.EventBusName).toEqual({ 'Fn::GetAtt': ['QpipeBus', 'Name'] });
    // One per stage, and the Scheduler's.
    expect(ofType('AWS::SQS::Queue')).toHaveLength(7);
    expect(ofType('AWS::Events::Archive')).toHaveLength(1);
  });

  it('sends an event a function failed twice to its queue (on-failure destination), with alarms on queues and errors', () => {
    const configs = ofType('AWS::Lambda::EventInvokeConfig')
      .filter(([name]) => !SCHEDULED_CONFIGS.includes(name))
      .map(([, r]) => r.Properties);
    expect(configs).toHaveLength(Object.keys(SUBSCRIPTIONS).length);
    for (const config of configs) {
      expect(config['MaximumRetryAttempts']).toBe(2);
      expect(JSON.stringify(config['DestinationConfig'])).toMatch(/DeadLetters/);
    }
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, r]) => r.Properties);
    expect(alarms.filter((a) => a['MetricName'] === 'ApproximateNumberOfMessagesVisible')).toHaveLength(7);
    // One per stage, and the backup's (a failed backup is retried tomorrow: someone must know).
    expect(alarms.filter((a) => a['MetricName'] === 'Errors')).toHaveLength(7);
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
      // No statement on every resource where an ARN pattern exists (Braket's GetDevice and
      // CreateQuantumTask take no resource type: the Service Authorization Reference says "*").
      expect(
        statements.filter((s) => s.Resource === '*' && s.Action.some((a) => !RESOURCELESS.has(a))),
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

  it('grants least privilege: no function may call Braket while it is off, only notify may send mail', () => {
    for (const stage of Object.keys(SUBSCRIPTIONS)) {
      expect(
        actionsOf(roleName(stage)).some((a) => a.startsWith('braket:')),
        stage,
      ).toBe(false);
      expect(
        actionsOf(roleName(stage)).some((a) => a.startsWith('ses:')),
        stage,
      ).toBe(stage === 'notify');
    }
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
    // Only over TLS.
    expect(JSON.stringify(resources['ResultsBucketPolicy']?.Properties)).toContain(
      '"Condition":{"Bool":{"aws:SecureTransport":"false"}}',
    );
  });

  it('writes the SBOM of the production dependencies beside the template (CycloneDX)', () => {
    const sbom = JSON.parse(readFileSync(`${ROOT}.serverless/sbom.cdx.json`, 'utf8')) as {
      bomFormat: string;
      components: { name: string; version: string }[];
    };
    expect(sbom.bomFormat).toBe('CycloneDX');
    const names = sbom.components.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['@aws-sdk/client-s3', '@middy/core', 'cloudevents']));
    // Development tools are not shipped, so not listed.
    expect(names).not.toContain('vitest');
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
    `passes cfn-lint (no errors) and checkov (every skipped check explained in .checkov.yaml), the Braket regional template too${checkersMissing ? ` (skipped: ${checkersMissing})` : ''}`,
    () => {
      // cfn-lint's exit code is a bit set: 2 means errors (4, warnings, is the framework's own DependsOn).
      const lint = spawnSync(join(CHECKERS, 'cfn-lint'), [TEMPLATE, REGIONAL_TEMPLATE], {
        cwd: ROOT,
        encoding: 'utf8',
      });
      expect((lint.status ?? 0) & 2, lint.stdout).toBe(0);
      const checkov = spawnSync(
        join(CHECKERS, 'checkov'),
        [
          '-f',
          TEMPLATE,
          '-f',
          REGIONAL_TEMPLATE,
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

  /** Every statement of a role, its inline policies and the policy resources attached to it. */
  const statementsOf = (all: Record<string, Resource>, role: string) => {
    const inline = (all[role]?.Properties.Policies ?? []).flatMap((p) => p.PolicyDocument.Statement);
    const attached = Object.values(all)
      .filter(
        (r) =>
          r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties['Roles']) === JSON.stringify([{ Ref: role }]),
      )
      .flatMap((r) => (r.Properties['PolicyDocument'] as { Statement: unknown[] }).Statement);
    return [...inline, ...attached] as { Effect: string; Action: string[]; Resource: unknown; Condition?: unknown }[];
  };

  it('keeps the Braket regional template identical to what it renders, covering every region a catalog device runs in', () => {
    expect(readFileSync(`${ROOT}${REGIONAL_TEMPLATE}`, 'utf8'), 'run npm run gen').toBe(renderBraketRegionTemplate());
    const regions = builtinBackends({ simulatorMaxQubits: 30 })
      .filter((b) => b.type === 'aws_braket' && b.deviceId)
      .map((b) => deviceRegion(b.deviceId!))
      .filter((r) => r !== undefined);
    expect(regions.length).toBeGreaterThan(0);
    for (const region of regions) expect(BRAKET_REGIONS).toContain(region);
    const regional = parse(readFileSync(`${ROOT}${REGIONAL_TEMPLATE}`, 'utf8')) as {
      Resources: Record<string, { Properties: Record<string, unknown> }>;
    };
    // The bucket each regional stack makes is the one the functions name for that region.
    const bucket = JSON.stringify(regional.Resources['BraketResults']?.Properties['BucketName']);
    expect(bucket).toContain('amazon-braket-${AWS::AccountId}-${AWS::Region}-${Service}-${Stage}');
    // Only qpipe's tasks (those writing to this bucket) are forwarded, to the qpipe bus, through a role, with a dead-letter queue.
    const rule = regional.Resources['ForwardRule']?.Properties as {
      EventPattern: Record<string, unknown>;
      Targets: Record<string, unknown>[];
    };
    expect(rule.EventPattern).toMatchObject({
      source: ['aws.braket'],
      'detail-type': ['Braket Task State Change'],
      detail: { outputS3Bucket: [{ 'Fn::Sub': expect.stringContaining('amazon-braket-') }] },
    });
    expect(rule.Targets[0]).toMatchObject({
      Arn: { Ref: 'QpipeBusArn' },
      RoleArn: { 'Fn::GetAtt': ['ForwardRole', 'Arn'] },
      DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['ForwardDeadLetters', 'Arn'] } },
    });
  });

  it('denies qpipe internal sources on the bus to every principal but the stack roles', () => {
    const policy = resources['QpipeBusPolicy']?.Properties as {
      Statement: { Effect: string; Principal: string; Condition: Record<string, Record<string, unknown>> };
    };
    expect(policy.Statement).toMatchObject({ Effect: 'Deny', Principal: '*' });
    const sources = policy.Statement.Condition['StringEquals']?.['events:source'] as string[];
    for (const stage of Object.keys(SUBSCRIPTIONS)) expect(sources).toContain(stageSource(stage as Stage));
    expect(sources).toContain('/qpipe/timer');
    // Requests stay open to whoever the identity policies allow.
    expect(sources).not.toContain('/qpipe/submit');
    const allowed = (
      policy.Statement.Condition['ArnNotEquals']?.['aws:PrincipalArn'] as { 'Fn::GetAtt': string[] }[]
    ).map((r) => r['Fn::GetAtt'][0]);
    expect(allowed.sort()).toEqual(
      [...Object.keys(SUBSCRIPTIONS).map(roleName), 'SchedulerRole', 'TimerRole', 'ReplayRole'].sort(),
    );
    // Every principal that puts internal sources is one of them.
    for (const [name] of ofType('AWS::IAM::Role')) {
      const puts = statementsOf(resources, name).filter((s) => s.Action.includes('events:PutEvents'));
      const internal = puts.some((s) =>
        JSON.stringify(s.Condition ?? {}).match(
          /"\/qpipe\/(validate|select-backend|enforce-budget|execute|collect-results|notify|timer)"/,
        ),
      );
      if (internal) expect(allowed, name).toContain(name);
    }
  });

  it("lets a stage's queue take events only from that stage's rules (aws:SourceArn), and the Scheduler's through its role", () => {
    const rules = ofType('AWS::Events::Rule').map(([, r]) => r.Properties);
    for (const stage of Object.keys(SUBSCRIPTIONS)) {
      const queue = `${roleName(stage).replace(/Role$/, '')}DeadLetters`;
      const policy = ofType('AWS::SQS::QueuePolicy').find(
        ([, r]) => JSON.stringify(r.Properties['Queues']) === JSON.stringify([{ Ref: queue }]),
      )?.[1];
      const pattern = JSON.stringify(policy?.Properties).match(/rule\/qpipe-dev\/([^"]*)\*/)?.[1];
      expect(pattern, stage).toBe(`qpipe-dev-${stage}-rule-`);
      const feeding = rules.filter((r) => JSON.stringify(r.Targets?.[0]?.DeadLetterConfig ?? {}).includes(queue));
      expect(feeding.length, stage).toBeGreaterThan(0);
      for (const rule of feeding) expect(String(rule['Name'])).toMatch(new RegExp(`^${pattern}\\d+$`));
    }
    expect(JSON.stringify(statementsOf(resources, 'SchedulerRole'))).toContain('SchedulerDeadLetters');
  });

  it('sends alarms to a topic under a customer key CloudWatch may use, on every way work is lost, each with its runbook', () => {
    const topic = resources['QpipeAlarms']?.Properties as Record<string, unknown>;
    expect(topic['KmsMasterKeyId']).toEqual({ Ref: 'AlarmTopicKey' });
    const key = JSON.stringify(resources['AlarmTopicKey']?.Properties);
    expect(key).toContain('"Principal":{"Service":"cloudwatch.amazonaws.com"}');
    expect(key).toMatch(/"kms:Decrypt","kms:GenerateDataKey\*"/);
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, r]) => r.Properties);
    const metrics = alarms.map((a) =>
      typeof a['MetricName'] === 'string' ? a['MetricName'] : JSON.stringify(a['Metrics']),
    );
    // Every stage's, and the backup's errors and dropped invocations (it has no destination).
    for (const metric of ['Errors', 'Throttles', 'AsyncEventsDropped', 'DestinationDeliveryFailures']) {
      const backup = ['Errors', 'AsyncEventsDropped'].includes(metric) ? 1 : 0;
      expect(
        metrics.filter((m) => m === metric),
        metric,
      ).toHaveLength(Object.keys(SUBSCRIPTIONS).length + backup);
    }
    for (const metric of [
      'FailedInvocations',
      'InvocationsFailedToBeSentToDlq',
      'InvocationDroppedCount',
      'ApproximateAgeOfOldestMessage',
    ]) {
      expect(
        metrics.some((m) => m.includes(metric)),
        metric,
      ).toBe(true);
    }
    for (const alarm of alarms) {
      expect(alarm['AlarmActions']).toEqual([{ Ref: 'QpipeAlarms' }]);
      const page = /docs\/runbooks\/([a-z-]+)\.md/.exec(String(alarm['AlarmDescription']))?.[1];
      expect(RUNBOOK_PAGES as readonly (string | undefined)[], String(alarm['AlarmDescription'])).toContain(page);
    }
    for (const page of RUNBOOK_PAGES) expect(existsSync(`${ROOT}docs/runbooks/${page}.md`), page).toBe(true);
    // The Kubernetes alerts link the same pages.
    const rule = readFileSync(`${ROOT}infra/monitoring/prometheusrule.yaml`, 'utf8');
    const links = [...rule.matchAll(/runbook_url: (\S+)/g)].map((m) => /runbooks\/([a-z-]+)\.md$/.exec(m[1]!)?.[1]);
    expect(links.length).toBe([...rule.matchAll(/- alert:/g)].length);
    for (const page of links) expect(RUNBOOK_PAGES as readonly (string | undefined)[]).toContain(page);
  });

  it('lets only enforce-budget write ledgers, and a CI principal read the status it waits for', () => {
    const deniesLedgers = (statements: { Effect: string; Action: string[]; Resource: unknown }[]) =>
      statements.some(
        (s) =>
          s.Effect === 'Deny' && s.Action.includes('s3:PutObject') && JSON.stringify(s.Resource).includes('/ledgers/*'),
      );
    for (const [name] of ofType('AWS::IAM::Role')) {
      if (name === 'SchedulerRole' || name === 'ReplayRole') continue;
      // CodeDeploy's role moves aliases and reads alarms: no S3 at all.
      if (name === 'CodeDeployRole') {
        expect(
          statementsOf(resources, name)
            .flatMap((s) => s.Action)
            .filter((a) => a.startsWith('s3:')),
        ).toEqual([]);
        continue;
      }
      expect(deniesLedgers(statementsOf(resources, name)), name).toBe(name !== 'EnforceBudgetRole');
    }
    for (const policy of ['SubmitJobsPolicy', 'BridgePolicy']) {
      const statements = (resources[policy]?.Properties['PolicyDocument'] as { Statement: never[] }).Statement;
      expect(deniesLedgers(statements), policy).toBe(true);
    }
    // qpipe status reads the job's status object and the resources: the CI policy may read exactly those.
    const submit = JSON.stringify(resources['SubmitJobsPolicy']?.Properties);
    for (const statusKey of [jobStatusKey('0b5c-uid'), jobNameKey('ci', 'regression')]) {
      expect(
        STATUS_READS.some((prefix) => statusKey.startsWith(prefix)),
        statusKey,
      ).toBe(true);
    }
    for (const prefix of STATUS_READS) {
      expect(submit).toContain(`/${prefix}*`);
      expect(submit).toContain(`"${prefix}*"`);
    }
    // It writes only what a large request carries by reference.
    const statements = (
      resources['SubmitJobsPolicy']?.Properties['PolicyDocument'] as {
        Statement: { Effect: string; Action: string[]; Resource: unknown }[];
      }
    ).Statement;
    const writes = statements.filter(
      (st) =>
        st.Effect === 'Allow' &&
        st.Action.some((a) => a !== 's3:GetObject' && a.startsWith('s3:') && a !== 's3:ListBucket'),
    );
    expect(writes.map((w) => [w.Action, JSON.stringify(w.Resource)])).toEqual([
      [['s3:PutObject'], expect.stringContaining('/events/*')],
    ]);
  });

  it('keeps every record as long as what uses it: what a status points at as long as the status, event records as long as the archive', () => {
    const status = RETENTION_DAYS['status/']!;
    for (const prefix of ['runs/', 'circuits/', 'tasks/', 'held/', 'scheduled/', 'audit/']) {
      expect(RETENTION_DAYS[prefix], prefix).toBeGreaterThanOrEqual(status);
    }
    const archive = (resources['QpipeArchive']?.Properties as { RetentionDays: number }).RetentionDays;
    expect(RETENTION_DAYS['events/']).toBeGreaterThanOrEqual(archive);
    // Attempt counters outlive EventBridge's retries of an event (an hour).
    expect(RETENTION_DAYS['attempts/']! * 86_400).toBeGreaterThanOrEqual(3600);
    // Held jobs and their re-checks wait at most a budget period (a month) before they run or are rejected.
    expect(RETENTION_DAYS['held/']).toBeGreaterThan(31);
  });

  it('makes each on-failure destination wait for the grant it needs (DependsOn), and runs the timer every 5 minutes', () => {
    for (const [name, config] of ofType('AWS::Lambda::EventInvokeConfig')) {
      if (SCHEDULED_CONFIGS.includes(name)) continue;
      const dependsOn = (config as unknown as { DependsOn?: string[] }).DependsOn ?? [];
      const grant = dependsOn.find((d) => resources[d]?.Type === 'AWS::IAM::Policy');
      expect(grant, name).toBeDefined();
      expect(JSON.stringify(resources[grant!]?.Properties)).toContain('sqs:SendMessage');
    }
    const timer = ofType('AWS::Events::Rule').find(([name]) => name.startsWith('TimerEventsRuleSchedule'))?.[1];
    expect(timer?.Properties['ScheduleExpression']).toBe('rate(5 minutes)');
  });

  it('backs up the stored resources and ledgers daily to backups/, with a role that may write nothing else', () => {
    const rule = ofType('AWS::Events::Rule').find(([name]) => name.startsWith('BackupEventsRuleSchedule'))?.[1];
    expect(rule?.Properties['ScheduleExpression']).toBe('cron(15 2 * * ? *)');
    const fn = resources['BackupLambdaFunction']?.Properties as {
      Environment: { Variables: Record<string, unknown> };
    };
    expect(fn.Environment.Variables['QPIPE_BACKUP_TO']).toEqual({ 'Fn::Sub': 's3://${ResultsBucket}/backups' });
    expect(fn.Environment.Variables['QPIPE_BACKUP_KEEP']).toBe('14');
    const statements = statementsOf(resources, 'BackupRole');
    const writes = statements.filter(
      (s) => s.Effect === 'Allow' && s.Action.some((a) => a === 's3:PutObject' || a === 's3:DeleteObject'),
    );
    expect(writes.map((s) => JSON.stringify(s.Resource))).toEqual([expect.stringContaining('/backups/*')]);
    expect(statements.some((s) => s.Effect === 'Deny' && JSON.stringify(s.Resource).includes('/ledgers/*'))).toBe(true);
    expect(statements.some((s) => s.Action.some((a) => a.startsWith('events:') || a.startsWith('braket:')))).toBe(
      false,
    );
  });

  it('invokes every function through its live alias: rules, permissions and on-failure settings on the alias, moved by CodeDeploy', () => {
    const functions = ofType('AWS::Lambda::Function').map(([name]) => name);
    expect(functions.length).toBe(Object.keys(SUBSCRIPTIONS).length + 2);
    for (const fn of functions) {
      const alias = resources[`${fn}LiveAlias`];
      expect(alias?.Type, fn).toBe('AWS::Lambda::Alias');
      expect(alias?.Properties['Name']).toBe('live');
      // The version osls published from this package.
      const version = (alias?.Properties['FunctionVersion'] as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0]!;
      expect(resources[version]?.Type).toBe('AWS::Lambda::Version');
      expect(JSON.stringify(resources[version]?.Properties['FunctionName'])).toBe(JSON.stringify({ Ref: fn }));
      const update = (alias as unknown as { UpdatePolicy: { CodeDeployLambdaAliasUpdate: Record<string, unknown> } })
        .UpdatePolicy.CodeDeployLambdaAliasUpdate;
      const group = (update['DeploymentGroupName'] as { Ref: string }).Ref;
      expect(resources[group]?.Type).toBe('AWS::CodeDeploy::DeploymentGroup');
    }
    const live = (fn: string) => JSON.stringify({ 'Fn::Join': [':', [{ 'Fn::GetAtt': [fn, 'Arn'] }, 'live']] });
    const targets = ofType('AWS::Events::Rule').flatMap(([, r]) => r.Properties['Targets'] as { Arn: unknown }[]);
    const lambdaTargets = targets.filter((t) => JSON.stringify(t.Arn).includes('LambdaFunction'));
    expect(lambdaTargets.length).toBeGreaterThan(Object.keys(SUBSCRIPTIONS).length);
    for (const target of lambdaTargets) expect(functions.map(live)).toContain(JSON.stringify(target.Arn));
    for (const [name, permission] of ofType('AWS::Lambda::Permission'))
      expect(functions.map(live), name).toContain(JSON.stringify(permission.Properties['FunctionName']));
    for (const [name, config] of ofType('AWS::Lambda::EventInvokeConfig')) {
      expect(config.Properties['Qualifier'], name).toBe('live');
      expect([(config as unknown as { DependsOn: string | string[] }).DependsOn].flat(), name).toEqual(
        expect.arrayContaining([expect.stringMatching(/LiveAlias$/)]),
      );
    }
  });

  describe('opt-ins, rendered on and off (osls package --param, CloudFormation conditions applied)', () => {
    type Template = { Conditions?: Record<string, unknown>; Resources: Record<string, Resource> };
    const COMBINATIONS = [
      { braket: false, ibm: false },
      { braket: true, ibm: false },
      { braket: false, ibm: true },
      { braket: true, ibm: true },
    ];
    const IBM_PARAMETER = '/qpipe/ibm-api-key';

    function packaged(options: { braket: boolean; ibm: boolean; params?: string[] }): Template {
      const out = mkdtempSync(join(tmpdir(), 'qpipe-package-'));
      try {
        const params = [
          ...(options.params ?? []).flatMap((param) => ['--param', param]),
          ...(options.braket ? ['--param', 'braket=true'] : []),
          ...(options.ibm
            ? [
                '--param',
                `ibmApiKeyParameter=${IBM_PARAMETER}`,
                '--param',
                'ibmCrn=crn:v1:bluemix:public:quantum-computing:us-east:a/1::',
              ]
            : []),
        ];
        execFileSync(
          ensureAwsTools(),
          ['package', '--stage', 'dev', '--region', 'eu-west-1', '--package', out, ...params],
          {
            cwd: ROOT,
            stdio: 'ignore',
            timeout: 120_000,
            env: {
              ...process.env,
              AWS_ACCESS_KEY_ID: 'offline',
              AWS_SECRET_ACCESS_KEY: 'offline',
              SLS_TELEMETRY_DISABLED: '1',
            },
          },
        );
        return JSON.parse(readFileSync(join(out, 'cloudformation-template-update-stack.json'), 'utf8')) as Template;
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    }

    it('shifts a canary share to the new version with --param canaryPercent, rolled back by the alarms, and all at once without', () => {
      const groups = (template: Template) =>
        Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::CodeDeploy::DeploymentGroup');
      const canary = applyConditions(
        packaged({ braket: false, ibm: false, params: ['canaryPercent=10', 'canaryMinutes=15'] }),
      );
      expect(canary.conditions['CanaryOn']).toBe(true);
      const config = canary.template.Resources['CanaryDeploymentConfig']?.Properties;
      expect(config?.['TrafficRoutingConfig']).toEqual({
        Type: 'TimeBasedCanary',
        // Parameters arrive as text; CloudFormation reads them as the integers the type wants.
        TimeBasedCanary: { CanaryPercentage: '10', CanaryInterval: '15' },
      });
      for (const [name, group] of groups(canary.template)) {
        expect(group.Properties['DeploymentConfigName'], name).toEqual({ Ref: 'CanaryDeploymentConfig' });
        expect(group.Properties['AutoRollbackConfiguration'], name).toEqual({
          Enabled: true,
          Events: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_ALARM'],
        });
      }
      // Each stage's deployment is watched by its errors alarm.
      const execute = canary.template.Resources['ExecuteDeploymentGroup']?.Properties;
      expect(execute?.['AlarmConfiguration']).toEqual({
        Enabled: true,
        Alarms: [{ Name: { Ref: 'ExecuteErrorsAlarm' } }],
      });
      const plain = applyConditions(packaged({ braket: false, ibm: false }));
      expect(plain.conditions['CanaryOn']).toBe(false);
      expect(plain.template.Resources['CanaryDeploymentConfig']).toBeUndefined();
      for (const [name, group] of groups(plain.template))
        expect(group.Properties['DeploymentConfigName'], name).toBe('CodeDeployDefault.LambdaAllAtOnce');
    }, 240_000);

    it.each(COMBINATIONS)(
      "braket=$braket ibm=$ibm: every function's settings match its role's grants, and a function that does not use an opt-in has neither",
      (options) => {
        const { template, conditions } = applyConditions(packaged(options));
        expect(conditions).toEqual({ BraketOn: options.braket, IbmOn: options.ibm, CanaryOn: false });
        const all = template.Resources;
        const functions = Object.values(all).filter((r) => r.Type === 'AWS::Lambda::Function');
        // The stages, the timer and the backup.
        expect(functions).toHaveLength(Object.keys(SUBSCRIPTIONS).length + 2);
        for (const fn of functions) {
          const name = String(fn.Properties.FunctionName).replace(/^qpipe-dev-/, '');
          const environment = (fn.Properties['Environment'] as { Variables: Record<string, unknown> }).Variables;
          const role = (fn.Properties['Role'] as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0]!;
          const actions = statementsOf(all, role)
            .filter((s) => s.Effect === 'Allow')
            .flatMap((s) => s.Action);
          const usesProviders = ['select-backend', 'execute', 'collect-results'].includes(name);
          // IBM: the key's parameter is named exactly where the role may read exactly it.
          const ibmKey = environment['IBM_QUANTUM_API_KEY_PARAMETER'];
          expect(ibmKey, name).toBe(options.ibm && usesProviders ? IBM_PARAMETER : undefined);
          const ssm = statementsOf(all, role).filter((s) => s.Action.includes('ssm:GetParameter'));
          expect(ssm.length > 0, name).toBe(ibmKey !== undefined);
          for (const grant of ssm) expect(JSON.stringify(grant.Resource)).toContain(`:parameter${IBM_PARAMETER}`);
          // Braket: on only where it is used and granted; off leaves nothing that turns it on.
          const braket = environment['QPIPE_BRAKET'];
          expect(braket, name).toBe(options.braket && usesProviders ? 'true' : undefined);
          expect(
            actions.some((a) => a.startsWith('braket:')),
            name,
          ).toBe(braket === 'true');
          expect(actions.includes('braket:CreateQuantumTask'), name).toBe(braket === 'true' && name === 'execute');
          if (braket === 'true' && name === 'execute') {
            expect(actions).toEqual(
              expect.arrayContaining(['braket:CreateQuantumTask', 'braket:TagResource', 'braket:GetDevice']),
            );
          }
          if (braket === 'true' && name === 'collect-results') {
            expect(actions).toEqual(expect.arrayContaining(['braket:GetQuantumTask', 'braket:CancelQuantumTask']));
          }
          // The function's configuration loads from what the template gives it (intrinsics as deployed values).
          const deployed = Object.fromEntries(
            Object.entries(environment).map(([k, v]) => [
              k,
              typeof v === 'string'
                ? v
                : k === 'QPIPE_S3_BUCKET'
                  ? 'qpipe-dev-results'
                  : JSON.stringify(v).includes('amazon-braket-')
                    ? 'amazon-braket-123456789012-{region}-qpipe-dev'
                    : 'arn:aws:x',
            ]),
          );
          const config = loadConfig({ ...deployed, ...(ibmKey ? { IBM_QUANTUM_API_KEY: 'resolved from SSM' } : {}) });
          expect(config.providers.braket !== undefined, name).toBe(braket === 'true');
          expect(config.providers.ibm !== undefined, name).toBe(ibmKey !== undefined);
        }
      },
      150_000,
    );
  });
});
