/**
 * `npm run smoke:aws -- --stack <name>`: README's AWS flow against a deployed stack, and what it
 * checked. It reads the stack's outputs (CloudFormation; or --bus, --bucket and --topic), then:
 * applies a budget and submits a Bell job (as `qpipe submit` does: budgets to the bucket, the
 * request on the bus), waits for the job to finish (the status the functions keep in the
 * bucket), reads its result document, and checks that CloudWatch can publish to the alarm topic
 * (the topic's key lets it). `--fire-alarm NAME` also sets that alarm to ALARM, so the
 * subscribers get a real notification. Without AWS credentials it says so and does nothing.
 * Standard AWS settings apply (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL_*).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { loadConfig } from '../../shared/config.ts';
import { readStatus, submitFiles } from '../../shared/cli/submit-command.ts';
import { TERMINAL_PHASES } from '../../shared/resources/schema.ts';
import { createDeployedPorts } from '../../shared/runtime/deployed-ports.ts';
import { getJson } from '../../shared/storage/object-store.ts';

/** Where the stack is. */
export interface StackOutputs {
  readonly bus: string;
  readonly bucket: string;
  readonly topic: string;
}

/** One thing the smoke test checked. */
export interface Check {
  readonly what: string;
  readonly ok: boolean;
  readonly detail: string;
}

const NAMESPACE = 'qpipe-smoke';

/** Why there is nothing to run with, or undefined when AWS credentials resolve. */
export async function missingCredentials(): Promise<string | undefined> {
  const { STSClient, GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
  try {
    await new STSClient({}).send(new GetCallerIdentityCommand({}));
    return undefined;
  } catch (error) {
    const name = (error as { name?: string }).name ?? '';
    if (name === 'CredentialsProviderError' || /credential/i.test(String(error))) {
      return `no AWS credentials (${(error as Error).message.split('\n')[0]})`;
    }
    throw error;
  }
}

/** The stack's outputs, from CloudFormation. */
export async function stackOutputs(stack: string): Promise<StackOutputs> {
  const { CloudFormationClient, DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const { Stacks } = await new CloudFormationClient({}).send(new DescribeStacksCommand({ StackName: stack }));
  const output = (key: string) => {
    const value = Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === key)?.OutputValue;
    if (!value) throw new Error(`stack ${stack} has no ${key} output (is it qpipe's?)`);
    return value;
  };
  return { bus: output('EventBusName'), bucket: output('ResultsBucketName'), topic: output('AlarmTopicArn') };
}

/** A budget, and README's Bell job (examples/bell.yaml) under a name of its own in the smoke namespace. */
async function manifest(job: string): Promise<string> {
  const bell = parse(await readFile(new URL('../../examples/bell.yaml', import.meta.url), 'utf8')) as {
    metadata: Record<string, unknown>;
  };
  bell.metadata = { name: job, namespace: NAMESPACE };
  const budget = {
    apiVersion: 'quantum.io/v1',
    kind: 'QiskitBudget',
    metadata: { name: 'smoke', namespace: NAMESPACE },
    spec: { limit: '$1.00', period: 'monthly' },
  };
  return `${stringify(budget)}---\n${stringify(bell)}`;
}

/** Submits a Bell job with a budget, waits for it, and checks its result. */
async function runBell(outputs: StackOutputs, timeoutSeconds: number, now: Date): Promise<Check[]> {
  const config = loadConfig({ ...process.env, QPIPE_S3_BUCKET: outputs.bucket });
  const job = `bell-${now.toISOString().replace(/\D/g, '').slice(0, 14)}`;
  const folder = await mkdtemp(join(tmpdir(), 'qpipe-smoke-'));
  const checks: Check[] = [];
  try {
    await writeFile(join(folder, 'smoke.yaml'), await manifest(job));
    await submitFiles([join(folder, 'smoke.yaml')], { config, to: { bus: outputs.bus } });
    checks.push({
      what: 'submit',
      ok: true,
      detail: `budget ${NAMESPACE}/smoke applied, job ${NAMESPACE}/${job} on ${outputs.bus}`,
    });
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
  const deadline = Date.now() + timeoutSeconds * 1000;
  let status = await readStatus(NAMESPACE, job, config);
  while (!(status?.phase && TERMINAL_PHASES.includes(status.phase)) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 2000));
    status = await readStatus(NAMESPACE, job, config);
  }
  const phase = status?.phase ?? 'no status';
  checks.push({
    what: 'job finished',
    ok: phase === 'Succeeded',
    detail:
      phase === 'Succeeded'
        ? `Succeeded on ${status?.selectedBackend ?? '?'}`
        : `${phase}: ${status?.message ?? `not finished in ${timeoutSeconds} s`}`,
  });
  if (phase !== 'Succeeded' || !status?.results) return checks;
  const { store } = await createDeployedPorts(config, { budgets: [], backends: [], configMaps: [] });
  // The status names the result as s3://bucket/key.
  const key = status.results.location.replace(`s3://${outputs.bucket}/`, '');
  const document = (await getJson(store, key)) as { counts?: Record<string, number> } | undefined;
  const counts = document?.counts ?? status.results.counts;
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const bell = Object.keys(counts).every((k) => k === '00' || k === '11');
  checks.push({
    what: 'result',
    ok: document !== undefined && total === status.results.shots && bell,
    detail: `${status.results.location}: ${JSON.stringify(counts)}${document === undefined ? ' (document missing)' : ''}`,
  });
  return checks;
}

/** Whether CloudWatch may publish to the alarm topic: the topic's key (if any) and policy let it. */
async function checkAlarmTopic(topic: string, fireAlarm: string | undefined): Promise<Check[]> {
  const [{ SNSClient, GetTopicAttributesCommand }, { KMSClient, GetKeyPolicyCommand }] = await Promise.all([
    import('@aws-sdk/client-sns'),
    import('@aws-sdk/client-kms'),
  ]);
  const { Attributes = {} } = await new SNSClient({}).send(new GetTopicAttributesCommand({ TopicArn: topic }));
  const keyId = Attributes['KmsMasterKeyId'];
  const checks: Check[] = [];
  if (keyId === undefined || keyId === '') {
    checks.push({ what: 'alarm topic key', ok: true, detail: `${topic} is not encrypted: CloudWatch may publish` });
  } else if (keyId.includes('alias/aws/sns')) {
    checks.push({
      what: 'alarm topic key',
      ok: false,
      detail: `${topic} uses ${keyId}, which CloudWatch alarms cannot use`,
    });
  } else {
    const { Policy = '{}' } = await new KMSClient({}).send(
      new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default' }),
    );
    const lets = (
      JSON.parse(Policy) as { Statement?: { Effect?: string; Principal?: { Service?: unknown }; Action?: unknown }[] }
    ).Statement?.some(
      (s) =>
        s.Effect === 'Allow' &&
        JSON.stringify(s.Principal?.Service ?? '').includes('cloudwatch.amazonaws.com') &&
        JSON.stringify(s.Action ?? '').includes('kms:GenerateDataKey'),
    );
    checks.push({
      what: 'alarm topic key',
      ok: lets === true,
      detail: lets
        ? `key ${keyId} lets CloudWatch encrypt for ${topic}`
        : `key ${keyId} does not let cloudwatch.amazonaws.com use it`,
    });
  }
  if (fireAlarm) {
    const { CloudWatchClient, SetAlarmStateCommand } = await import('@aws-sdk/client-cloudwatch');
    await new CloudWatchClient({}).send(
      new SetAlarmStateCommand({
        AlarmName: fireAlarm,
        StateValue: 'ALARM',
        StateReason: 'qpipe smoke test: a test notification',
      }),
    );
    checks.push({
      what: 'alarm fired',
      ok: true,
      detail: `${fireAlarm} set to ALARM: its subscribers should get a notification now`,
    });
  }
  return checks;
}

/** The whole smoke test. */
export async function smoke(options: {
  readonly outputs: StackOutputs;
  readonly timeoutSeconds: number;
  readonly fireAlarm?: string;
}): Promise<Check[]> {
  return [
    ...(await runBell(options.outputs, options.timeoutSeconds, new Date())),
    ...(await checkAlarmTopic(options.outputs.topic, options.fireAlarm)),
  ];
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      stack: { type: 'string' },
      bus: { type: 'string' },
      bucket: { type: 'string' },
      topic: { type: 'string' },
      timeout: { type: 'string', default: '300' },
      'fire-alarm': { type: 'string' },
    },
  });
  const missing = await missingCredentials();
  if (missing) {
    console.log(`skipped: ${missing}; set AWS_PROFILE or AWS credentials for the stack's account and run again`);
    return 0;
  }
  let outputs: StackOutputs;
  if (values.stack) outputs = await stackOutputs(values.stack);
  else if (values.bus && values.bucket && values.topic)
    outputs = { bus: values.bus, bucket: values.bucket, topic: values.topic };
  else {
    console.error(
      'usage: npm run smoke:aws -- --stack <name> | --bus NAME --bucket NAME --topic ARN [--timeout SECONDS] [--fire-alarm NAME]',
    );
    return 2;
  }
  const checks = await smoke({
    outputs,
    timeoutSeconds: Number(values.timeout),
    ...(values['fire-alarm'] ? { fireAlarm: values['fire-alarm'] } : {}),
  });
  for (const check of checks) console.log(`${check.ok ? 'ok  ' : 'FAIL'} ${check.what}: ${check.detail}`);
  return checks.every((c) => c.ok) ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`smoke test failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
