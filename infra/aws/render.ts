/**
 * Renders serverless.yml from the stage list and the event catalog's SUBSCRIPTIONS
 * (`npm run gen`), so the EventBridge rules route exactly what the code subscribes to.
 * Osls (the maintained fork of the Serverless Framework v3) packages it offline.
 */
import { stringify } from 'yaml';
import {
  CANCEL_SOURCES,
  EMITTERS,
  EventType,
  REQUEST_SOURCES,
  type Stage,
  stageSource,
  SUBSCRIPTIONS,
} from '../../events/types.ts';
import { simulatorMaxMemory, SIZES } from '../sizing.ts';
import { alarmResources, backupAlarms, deadLetterAlarms, functionAlarms } from './alarms.ts';
import { privateBucket, tlsOnly } from './buckets.ts';
import { DEPLOYMENT_APPLICATION, deploymentGroupOf, deploymentResources, LIVE_ALIAS } from './deployments.ts';
import { deadLetterQueue, rulesOnlyQueuePolicy } from './queues.ts';
import {
  bucketObjects,
  busPolicy,
  forThisAccount,
  internalSources,
  listBucket,
  onFailurePolicy,
  OPT_INS,
  PascalCase,
  putEventsAs,
  requestJobsPolicy,
  role,
  stageRole,
  timerRole,
  backupRole,
} from './iam.ts';

const LAMBDA_STAGES = Object.keys(SUBSCRIPTIONS) as Stage[];
/** Stages that emit delayed events (held-job re-checks, reservation expiries, provider polls). */
const DELAYING_STAGES: readonly Stage[] = ['enforce-budget', 'collect-results'];

// infra/sizing.ts; execute's can be raised with a parameter (and the simulator's share with it).
const MEMORY: Record<Stage, number | string> = {
  ...(Object.fromEntries(LAMBDA_STAGES.map((stage) => [stage, SIZES[stage].lambdaMB ?? 256])) as Record<Stage, number>),
  execute: `\${param:executeMemory, ${SIZES.execute.lambdaMB ?? 3008}}`,
};

const TIMEOUT: Record<Stage, number | string> = {
  validate: 30,
  'select-backend': 30,
  'enforce-budget': 30,
  execute: '${param:executeTimeout, 900}',
  'collect-results': 60,
  notify: 60,
};

/** How long EventBridge retries delivering an event to a function (seconds). */
const MAX_EVENT_AGE = 3600;
/** How long the archive keeps every event for replay (days). */
const ARCHIVE_DAYS = 30;

/**
 * How long each growing prefix is kept (days). Whatever a job's status points at (its run,
 * circuit, task record, hold) lives as long as the status; markers only as long as their use.
 */
export const RETENTION_DAYS: Readonly<Record<string, number>> = {
  'status/': 400,
  'runs/': 400,
  'circuits/': 400,
  'tasks/': 400,
  'held/': 400,
  'scheduled/': 400,
  // Who asked and what each job cost.
  'audit/': 400,
  'notifications/': 400,
  // The backup function keeps the newest N itself (backupKeep); this only bounds a forgotten one.
  'backups/': 400,
  // Event records guard against duplicates: as long as the archive can replay them.
  'events/': ARCHIVE_DAYS,
  'outbox/': 30,
  'dead-letters/': 90,
  // Claims last minutes (a lease), resync markers one period, attempt counters while EventBridge retries.
  'claims/': 1,
  'resync/': 1,
  'attempts/': 7,
};

/** The settings a function reads: stage, plus delays for those that schedule, mail for notify, and its opt-ins. */
function environmentOf(stage: Stage): Record<string, unknown> {
  const optIns = OPT_INS.map((optIn) => [optIn.condition, optIn.stages[stage]?.environment] as const).filter(
    (entry): entry is readonly [string, Record<string, unknown>] => entry[1] !== undefined,
  );
  return {
    QPIPE_STAGE: stage,
    ...(DELAYING_STAGES.includes(stage)
      ? {
          QPIPE_EVENT_BUS_ARN: { 'Fn::GetAtt': ['QpipeBus', 'Arn'] },
          QPIPE_SCHEDULER_ROLE_ARN: { 'Fn::GetAtt': ['SchedulerRole', 'Arn'] },
          QPIPE_SCHEDULE_GROUP: { Ref: 'QpipeSchedules' },
          QPIPE_SCHEDULER_DEAD_LETTERS_ARN: { 'Fn::GetAtt': ['SchedulerDeadLetters', 'Arn'] },
        }
      : {}),
    ...(stage === 'notify'
      ? {
          QPIPE_MAIL_TRANSPORT: "${param:mailTransport, 'ses'}",
          QPIPE_MAIL_FROM: "${param:mailFrom, 'qpipe@example.com'}",
        }
      : {}),
    // An opt-in that is off leaves no trace in the function (absent, not empty).
    ...Object.fromEntries(
      optIns.flatMap(([condition, environment]) =>
        Object.entries(environment).map(([name, value]) => [
          name,
          { 'Fn::If': [condition, value, { Ref: 'AWS::NoValue' }] },
        ]),
      ),
    ),
  };
}

/** The stage's queue takes events only from the stage's own rules on the bus. */
function queuePolicy(stage: Stage) {
  return rulesOnlyQueuePolicy(`${PascalCase(stage)}DeadLetters`, {
    ArnLike: {
      'aws:SourceArn': {
        'Fn::Sub': `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:rule/\${self:service}-\${sls:stage}/\${self:service}-\${sls:stage}-${stage}-rule-*`,
      },
    },
  });
}

/**
 * The stage's rule patterns, one per source: each internal type only from the stage that
 * emits it, job requests only from the request sources (only the pipeline speaks for the
 * pipeline, DESIGN.md). Separate rules rather than one `$or` pattern, which the local
 * EventBridge emulation does not understand.
 */
export function subscriptionPatterns(stage: Stage): { source: string[]; 'detail-type': string[] }[] {
  const bySource = new Map<string, string[]>();
  for (const type of SUBSCRIPTIONS[stage]) {
    const sources =
      type === EventType.JobRequested
        ? [...REQUEST_SOURCES]
        : type === EventType.JobCancel
          ? [...CANCEL_SOURCES]
          : (EMITTERS[type] ?? []).map((e) => stageSource(e));
    for (const source of sources) bySource.set(source, [...(bySource.get(source) ?? []), type]);
  }
  return [...bySource].map(([source, types]) => ({ source: [source], 'detail-type': types }));
}

function fn(stage: Stage) {
  const rule = (pattern: Record<string, unknown>) => ({
    eventBridge: {
      eventBus: { 'Fn::GetAtt': ['QpipeBus', 'Name'] },
      pattern,
      retryPolicy: { maximumEventAge: MAX_EVENT_AGE, maximumRetryAttempts: 8 },
      deadLetterQueueArn: { 'Fn::GetAtt': [`${PascalCase(stage)}DeadLetters`, 'Arn'] },
    },
  });
  const events = subscriptionPatterns(stage).map((pattern) => rule(pattern));
  // Braket's task events, forwarded to the bus from every device region (infra/aws/braket-region.yaml).
  if (stage === 'collect-results')
    events.push(rule({ source: ['aws.braket'], 'detail-type': [EventType.BraketTaskStateChange] }));
  return {
    handler: `.build/${stage}/index.handler`,
    memorySize: MEMORY[stage],
    timeout: TIMEOUT[stage],
    role: `${PascalCase(stage)}Role`,
    // An event the function failed twice goes to its queue, for qpipe dead-letters replay.
    maximumRetryAttempts: 2,
    destinations: { onFailure: { type: 'sqs', arn: { 'Fn::GetAtt': [`${PascalCase(stage)}DeadLetters`, 'Arn'] } } },
    package: { patterns: [`.build/${stage}/**`] },
    environment: environmentOf(stage),
    events,
  };
}

/** The timer: every 5 minutes it releases delayed events whose schedule did not deliver them. */
const timerFunction = {
  handler: '.build/timer/index.handler',
  memorySize: 256,
  timeout: 60,
  role: 'TimerRole',
  // The next tick does the same work: nothing to retry.
  maximumRetryAttempts: 0,
  package: { patterns: ['.build/timer/**'] },
  environment: { QPIPE_STAGE: 'timer' },
  events: [{ schedule: 'rate(5 minutes)' }],
};

/** Backups on a schedule: the stored resources and every ledger to backups/, the newest N kept. */
const backupFunction = {
  handler: '.build/backup/index.handler',
  memorySize: 512,
  timeout: 300,
  role: 'BackupRole',
  maximumRetryAttempts: 2,
  package: { patterns: ['.build/backup/**'] },
  environment: {
    QPIPE_STAGE: 'backup',
    QPIPE_BACKUP_TO: { 'Fn::Sub': 's3://${ResultsBucket}/backups' },
    QPIPE_BACKUP_KEEP: '${param:backupKeep, 14}',
  },
  events: [{ schedule: "${param:backupSchedule, 'cron(15 2 * * ? *)'}" }],
};

/** The serverless.yml text. */
export function renderServerlessYaml(): string {
  const resources: Record<string, unknown> = {
    QpipeBus: { Type: 'AWS::Events::EventBus', Properties: { Name: '${self:service}-${sls:stage}' } },
    QpipeBusPolicy: busPolicy(LAMBDA_STAGES, [
      ...LAMBDA_STAGES.map((stage) => `${PascalCase(stage)}Role`),
      'SchedulerRole',
      'TimerRole',
      'ReplayRole',
    ]),
    QpipeArchive: {
      Type: 'AWS::Events::Archive',
      Properties: {
        SourceArn: { 'Fn::GetAtt': ['QpipeBus', 'Arn'] },
        RetentionDays: ARCHIVE_DAYS,
        Description: 'Every qpipe event, for replay',
      },
    },
    ResultsBucket: privateBucket({
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      // Ledgers and status can be rolled back a week after a bad write.
      VersioningConfiguration: { Status: 'Enabled' },
      LifecycleConfiguration: {
        Rules: [
          ...Object.entries(RETENTION_DAYS).map(([prefix, days]) => ({
            Id: `expire-${prefix.replace(/\W/g, '')}`,
            Status: 'Enabled',
            Prefix: prefix,
            ExpirationInDays: days,
          })),
          { Id: 'forget-old-versions', Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: 7 } },
        ],
      },
    }),
    ResultsBucketPolicy: {
      Type: 'AWS::S3::BucketPolicy',
      Properties: { Bucket: { Ref: 'ResultsBucket' }, PolicyDocument: tlsOnly('ResultsBucket') },
    },
    QpipeSchedules: { Type: 'AWS::Scheduler::ScheduleGroup', Properties: { Name: '${self:service}-${sls:stage}' } },
    SchedulerDeadLetters: deadLetterQueue(),
    // EventBridge Scheduler puts delayed events on the bus as the stage that scheduled them.
    SchedulerRole: role(
      { Service: ['scheduler.amazonaws.com'] },
      'qpipe-scheduler',
      [
        putEventsAs(DELAYING_STAGES.map((stage) => stageSource(stage))),
        { Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: { 'Fn::GetAtt': ['SchedulerDeadLetters', 'Arn'] } },
      ],
      forThisAccount,
    ),
    TimerRole: timerRole(DELAYING_STAGES.map((stage) => stageSource(stage))),
    BackupRole: backupRole(),
    ...backupAlarms(),
    ...alarmResources(),
    // A CI principal may request jobs and read their status, nothing else (attach it to the pipeline's role).
    SubmitJobsPolicy: requestJobsPolicy(
      'Put io.quantum.job.requested events on the qpipe bus as qpipe submit, and read job status',
      '/qpipe/submit',
      [
        { Effect: 'Allow', Action: ['s3:GetObject'], Resource: STATUS_READS.map((prefix) => bucketObjects(prefix)) },
        // A request over EventBridge's 256 KB travels by reference (claim-check.ts).
        { Effect: 'Allow', Action: ['s3:PutObject'], Resource: bucketObjects('events/') },
        listBucket(STATUS_READS),
      ],
    ),
    // The EKS bridge's role (IRSA, outside this stack) gets this: request jobs as the bridge,
    // copy resources to the bucket and read job status from it.
    BridgePolicy: requestJobsPolicy(
      'qpipe bridge on EKS: request jobs, sync resources and status through the results bucket',
      '/qpipe/bridge',
      [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: bucketObjects() }, listBucket()],
    ),
    ReplayRole: replayRole(),
  };
  // Every function behind its live alias, moved by CodeDeploy (all at once, or a canary).
  const deployed = [
    ...LAMBDA_STAGES.map((stage) => ({
      name: stage,
      pascal: PascalCase(stage),
      alarms: [`${PascalCase(stage)}ErrorsAlarm`],
    })),
    { name: 'timer', pascal: 'Timer', alarms: [] },
    { name: 'backup', pascal: 'Backup', alarms: ['BackupErrorsAlarm'] },
  ];
  Object.assign(resources, deploymentResources(deployed));
  const extensions: Record<string, unknown> = {};
  for (const stage of LAMBDA_STAGES) {
    const pascal = PascalCase(stage);
    resources[`${pascal}Role`] = stageRole(stage);
    resources[`${pascal}DeadLetters`] = deadLetterQueue();
    resources[`${pascal}DeadLettersPolicy`] = queuePolicy(stage);
    Object.assign(resources, deadLetterAlarms(`${pascal}DeadLetters`, stage), functionAlarms(pascal, stage));
    resources[`${pascal}OnFailurePolicy`] = onFailurePolicy(stage);
    // The on-failure destination is checked against the role's grants when it is created.
    extensions[`${stage.replace(/-/g, 'Dash').replace(/^./, (c) => c.toUpperCase())}LambdaEvConf`] = {
      DependsOn: [`${pascal}OnFailurePolicy`],
    };
  }
  const config = {
    service: 'qpipe',
    frameworkVersion: '>=3',
    configValidationMode: 'warn',
    params: { default: { braket: 'false', ibmApiKeyParameter: '', canaryPercent: '0', canaryMinutes: '10' } },
    // Built by npm run package:aws (infra/aws/bundle.ts) from infra/aws/live-alias-plugin.ts.
    plugins: ['./.build/osls/live-alias-plugin.mjs'],
    custom: {
      liveAlias: {
        name: LIVE_ALIAS,
        application: DEPLOYMENT_APPLICATION,
        deploymentGroups: Object.fromEntries(deployed.map(({ name, pascal }) => [name, deploymentGroupOf(pascal)])),
      },
    },
    provider: {
      name: 'aws',
      runtime: 'nodejs24.x',
      architecture: 'arm64',
      region: "${opt:region, 'eu-west-1'}",
      stage: "${opt:stage, 'dev'}",
      logRetentionInDays: 30,
      deploymentBucket: { blockPublicAccess: true, versioning: true },
      // Settings every function reads; each function adds its own (environmentOf).
      environment: {
        QPIPE_EVENT_BUS: { Ref: 'QpipeBus' },
        // execute's capacity, told to every stage so validation and selection decide on it.
        QPIPE_SIMULATOR_MAX_MEMORY: `\${param:simulatorMemory, '${simulatorMaxMemory(SIZES.execute.lambdaMB ?? 3008)}'}`,
        QPIPE_S3_BUCKET: { Ref: 'ResultsBucket' },
        QPIPE_CLUSTER: 'local',
        QPIPE_STORE: '/tmp/qpipe',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
    },
    package: { individually: true, patterns: ['!**'] },
    functions: {
      ...Object.fromEntries(LAMBDA_STAGES.map((stage) => [stage, fn(stage)])),
      timer: timerFunction,
      backup: backupFunction,
    },
    resources: {
      // Opt-ins (--param braket=true, --param ibmApiKeyParameter=/qpipe/ibm-api-key): off leaves no setting or grant.
      Conditions: {
        BraketOn: { 'Fn::Equals': ['${param:braket}', 'true'] },
        IbmOn: { 'Fn::Not': [{ 'Fn::Equals': ['${param:ibmApiKeyParameter}', ''] }] },
        // --param canaryPercent=10: a deploy shifts that share first (infra/aws/deployments.ts).
        CanaryOn: { 'Fn::Not': [{ 'Fn::Equals': ['${param:canaryPercent}', '0'] }] },
      },
      Resources: resources,
      extensions,
      Outputs: {
        EventBusName: { Value: { Ref: 'QpipeBus' } },
        EventBusArn: {
          Description: "The qpipe-braket stacks' QpipeBusArn parameter",
          Value: { 'Fn::GetAtt': ['QpipeBus', 'Arn'] },
        },
        ResultsBucketName: { Value: { Ref: 'ResultsBucket' } },
        DeploymentApplicationName: {
          Description: "CodeDeploy's application: each deploy moves every function's live alias through it",
          Value: { Ref: DEPLOYMENT_APPLICATION },
        },
        SubmitJobsPolicyArn: {
          Description: 'Attach to a CI principal: it may request jobs and read their status, nothing else',
          Value: { Ref: 'SubmitJobsPolicy' },
        },
        AlarmTopicArn: { Description: 'Subscribe to get qpipe alarms', Value: { Ref: 'QpipeAlarms' } },
        BridgePolicyArn: { Description: "Attach to the EKS bridge's IRSA role", Value: { Ref: 'BridgePolicy' } },
        ReplayRoleArn: {
          Description: 'Assume it to run qpipe dead-letters replay (the bus refuses internal sources from others)',
          Value: { 'Fn::GetAtt': ['ReplayRole', 'Arn'] },
        },
      },
    },
  };
  return `# Generated from events/types.ts (SUBSCRIPTIONS) by \`npm run gen\` (infra/aws/render.ts). Do not edit.\n${stringify(config, { lineWidth: 0 })}`;
}

/** What `qpipe status` reads of the bucket: job status, and the resources it resolves names against. */
export const STATUS_READS = ['status/', 'resources/', 'resources-changed'] as const;

/**
 * Who may replay dead letters: principals of the account allowed to assume this role. It reads
 * and deletes the stack's dead letters and puts them back on the bus with their own source,
 * which the bus policy allows it (and the stack's functions) alone.
 */
function replayRole() {
  const queues = [...LAMBDA_STAGES.map((stage) => `${PascalCase(stage)}DeadLetters`), 'SchedulerDeadLetters'];
  return role({ AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' } }, 'qpipe-replay', [
    {
      Effect: 'Allow',
      Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueUrl'],
      Resource: queues.map((queue) => ({ 'Fn::GetAtt': [queue, 'Arn'] })),
    },
    putEventsAs([...internalSources(LAMBDA_STAGES), ...REQUEST_SOURCES, ...CANCEL_SOURCES]),
    // Large events travel by reference (claim-check.ts).
    { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: bucketObjects('events/') },
    listBucket(['events/']),
  ]);
}
