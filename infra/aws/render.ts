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

const LAMBDA_STAGES = Object.keys(SUBSCRIPTIONS) as Stage[];

const PascalCase = (stage: string) => stage.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase());

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

type Statement = { Effect: 'Allow'; Action: string[]; Resource: unknown; Condition?: Record<string, unknown> };

/** Every prefix qpipe keeps in its bucket; list permission is scoped to them. */
export const BUCKET_PREFIXES = [
  'runs/',
  'circuits/',
  'ledgers/',
  'held/',
  'status/',
  'tasks/',
  'claims/',
  'notifications/',
  'scheduled/',
  'dead-letters/',
  'events/',
  'resources/',
  'resources-changed',
  'resync/',
  'outbox/',
  'bridge/',
  'attempts/',
  'sessions/',
  'audit/',
] as const;

/** How long each growing prefix is kept (days): results and records long, markers briefly. */
const RETENTION_DAYS: Readonly<Record<string, number>> = {
  'runs/': 90,
  'circuits/': 90,
  'held/': 30,
  'status/': 400,
  // Who asked and what each job cost: kept as long as status.
  'audit/': 400,
  'tasks/': 30,
  'claims/': 1,
  'notifications/': 400,
  'scheduled/': 30,
  'dead-letters/': 90,
  'events/': 30,
  'resync/': 1,
  'outbox/': 30,
  // Failed-attempt counters matter while an event is retried (minutes to hours).
  'attempts/': 7,
};

const bucket = { 'Fn::GetAtt': ['ResultsBucket', 'Arn'] };

const bucketObjects = { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['ResultsBucket', 'Arn'] }, '/*']] };
const braketResults = { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['BraketResultsBucket', 'Arn'] }, '/*']] };
/** Putting events on the qpipe bus only with the given source(s) (IAM's events:source condition), and type. */
function putEventsAs(source: string | string[], detailType?: string): Statement {
  return {
    Effect: 'Allow',
    Action: ['events:PutEvents'],
    Resource: { 'Fn::GetAtt': ['QpipeBus', 'Arn'] },
    Condition: {
      StringEquals: { 'events:source': source, ...(detailType ? { 'events:detail-type': detailType } : {}) },
    },
  };
}
/** A stage may put events on the bus only as itself. */
const putEvents = (stage: Stage): Statement => putEventsAs(stageSource(stage));
/** Reading keys that may be missing needs list permission, or S3 answers 403 instead of 404. */
const listBucket: Statement = {
  Effect: 'Allow',
  Action: ['s3:ListBucket'],
  Resource: bucket,
  Condition: { StringLike: { 's3:prefix': BUCKET_PREFIXES.map((p) => `${p}*`) } },
};
/** A failed asynchronous invocation goes to the stage's queue (Lambda on-failure destination). */
const onFailure = (stage: Stage): Statement => ({
  Effect: 'Allow',
  Action: ['sqs:SendMessage'],
  Resource: { 'Fn::GetAtt': [`${PascalCase(stage)}DeadLetters`, 'Arn'] },
});
const braketDevices = { 'Fn::Sub': 'arn:${AWS::Partition}:braket:*::device/*' };
const braketTasks = { 'Fn::Sub': 'arn:${AWS::Partition}:braket:${AWS::Region}:${AWS::AccountId}:quantum-task/*' };
const logs: Statement = {
  Effect: 'Allow',
  Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
  Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/*:*' },
};

/** Stages that call IBM Quantum read its API key from SSM (a SecureString under /qpipe/). */
const ibmKey: Statement = {
  Effect: 'Allow',
  Action: ['ssm:GetParameter'],
  Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/qpipe/*' },
};

/** Stages that emit delayed events (held-job re-checks, provider polls) create one-time schedules. */
const schedules: Statement[] = [
  {
    Effect: 'Allow',
    Action: ['scheduler:CreateSchedule'],
    Resource: {
      'Fn::Sub': 'arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/default/qpipe-*',
    },
  },
  { Effect: 'Allow', Action: ['iam:PassRole'], Resource: { 'Fn::GetAtt': ['SchedulerRole', 'Arn'] } },
];

/** Least privilege per function: validate cannot call Braket, only execute can, only notify sends mail. */
const STATEMENTS: Record<Stage, Statement[]> = {
  validate: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: bucketObjects }],
  'select-backend': [
    // Circuits over 64 KiB arrive by reference; selection translates them for each device.
    { Effect: 'Allow', Action: ['s3:GetObject'], Resource: bucketObjects },
    { Effect: 'Allow', Action: ['braket:GetDevice'], Resource: braketDevices },
    ibmKey,
  ],
  'enforce-budget': [
    { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: bucketObjects },
    ...schedules,
  ],
  execute: [
    ibmKey,
    { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: bucketObjects },
    { Effect: 'Allow', Action: ['s3:PutObject'], Resource: braketResults },
    { Effect: 'Allow', Action: ['braket:GetDevice'], Resource: braketDevices },
    {
      Effect: 'Allow',
      Action: ['braket:CreateQuantumTask', 'braket:GetQuantumTask', 'braket:CancelQuantumTask'],
      Resource: [braketTasks, braketDevices],
    },
  ],
  'collect-results': [
    ...schedules,
    ibmKey,
    { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: bucketObjects },
    { Effect: 'Allow', Action: ['s3:GetObject'], Resource: braketResults },
    { Effect: 'Allow', Action: ['braket:GetQuantumTask'], Resource: braketTasks },
    { Effect: 'Allow', Action: ['braket:GetDevice'], Resource: braketDevices },
  ],
  notify: [
    { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Resource: bucketObjects },
    {
      // Only as the configured sender.
      Effect: 'Allow',
      Action: ['ses:SendEmail'],
      Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*' },
      Condition: { StringEquals: { 'ses:FromAddress': "${param:mailFrom, 'qpipe@example.com'}" } },
    },
  ],
};

function role(stage: Stage) {
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: ['lambda.amazonaws.com'] }, Action: ['sts:AssumeRole'] }],
      },
      Policies: [
        {
          PolicyName: `qpipe-${stage}`,
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [logs, putEvents(stage), listBucket, onFailure(stage), ...STATEMENTS[stage]],
          },
        },
      ],
    },
  };
}

function deadLetterQueue() {
  return { Type: 'AWS::SQS::Queue', Properties: { MessageRetentionPeriod: 1_209_600, SqsManagedSseEnabled: true } };
}

function queuePolicy(stage: Stage) {
  const queue = `${PascalCase(stage)}DeadLetters`;
  return {
    Type: 'AWS::SQS::QueuePolicy',
    Properties: {
      Queues: [{ Ref: queue }],
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Resource: { 'Fn::GetAtt': [queue, 'Arn'] },
          },
        ],
      },
    },
  };
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
  const rule = (pattern: Record<string, unknown>, bus?: unknown) => ({
    eventBridge: {
      ...(bus === undefined ? {} : { eventBus: bus }),
      pattern,
      retryPolicy: { maximumEventAge: 3600, maximumRetryAttempts: 8 },
      deadLetterQueueArn: { 'Fn::GetAtt': [`${PascalCase(stage)}DeadLetters`, 'Arn'] },
    },
  });
  const events = subscriptionPatterns(stage).map((pattern) => rule(pattern, { 'Fn::GetAtt': ['QpipeBus', 'Name'] }));
  // Braket reports task completion on the default bus.
  if (stage === 'collect-results')
    events.push(rule({ source: ['aws.braket'], 'detail-type': ['Braket Task State Change'] }));
  return {
    handler: `.build/${stage}/index.handler`,
    memorySize: MEMORY[stage],
    timeout: TIMEOUT[stage],
    role: `${PascalCase(stage)}Role`,
    // An event the function failed twice goes to its queue, for qpipe dead-letters replay.
    maximumRetryAttempts: 2,
    destinations: { onFailure: { type: 'sqs', arn: { 'Fn::GetAtt': [`${PascalCase(stage)}DeadLetters`, 'Arn'] } } },
    package: { patterns: [`.build/${stage}/**`] },
    environment: { QPIPE_STAGE: stage },
    events,
  };
}

/** A managed policy that may put job requests on the bus with one source only, and `more`. */
function requestJobsPolicy(description: string, source: string, more: Statement[] = []) {
  return {
    Type: 'AWS::IAM::ManagedPolicy',
    Properties: {
      Description: description,
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [putEventsAs(source, EventType.JobRequested), ...more],
      },
    },
  };
}

/** An alarm that fires when a metric is above zero for five minutes, notifying the alarm topic. */
function alarm(options: {
  description: string;
  namespace: string;
  metric: string;
  dimension: { Name: string; Value: unknown };
  statistic: 'Maximum' | 'Sum';
}) {
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmDescription: options.description,
      Namespace: options.namespace,
      MetricName: options.metric,
      Dimensions: [options.dimension],
      Statistic: options.statistic,
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: 'QpipeAlarms' }],
    },
  };
}

/** An S3 bucket encrypted at rest and closed to the public, with the given extra properties. */
function privateBucket(properties: Record<string, unknown>) {
  return {
    Type: 'AWS::S3::Bucket',
    Properties: {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      ...properties,
    },
  };
}

/** The serverless.yml text. */
export function renderServerlessYaml(): string {
  const resources: Record<string, unknown> = {
    QpipeBus: { Type: 'AWS::Events::EventBus', Properties: { Name: '${self:service}-${sls:stage}' } },
    QpipeArchive: {
      Type: 'AWS::Events::Archive',
      Properties: {
        SourceArn: { 'Fn::GetAtt': ['QpipeBus', 'Arn'] },
        RetentionDays: 30,
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
    // Braket's service-linked role writes task results only to buckets named amazon-braket-*.
    BraketResultsBucket: privateBucket({
      BucketName: { 'Fn::Sub': 'amazon-braket-${AWS::AccountId}-${AWS::Region}-${self:service}-${sls:stage}' },
      LifecycleConfiguration: { Rules: [{ Id: 'expire-task-results', Status: 'Enabled', ExpirationInDays: 90 }] },
    }),
  };
  // EventBridge Scheduler puts delayed events on the bus as the stage that scheduled them.
  resources['SchedulerRole'] = {
    Type: 'AWS::IAM::Role',
    Properties: {
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: ['scheduler.amazonaws.com'] },
            Action: ['sts:AssumeRole'],
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          },
        ],
      },
      Policies: [
        {
          PolicyName: 'qpipe-scheduler',
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [putEventsAs([stageSource('enforce-budget'), stageSource('collect-results')])],
          },
        },
      ],
    },
  };
  resources['QpipeAlarms'] = {
    Type: 'AWS::SNS::Topic',
    Properties: { KmsMasterKeyId: 'alias/aws/sns', DisplayName: 'qpipe alarms' },
  };
  // A CI principal may request jobs, and nothing else (attach it to the pipeline's role).
  resources['SubmitJobsPolicy'] = requestJobsPolicy(
    'Put io.quantum.job.requested events on the qpipe bus as qpipe submit',
    '/qpipe/submit',
  );
  // The EKS bridge's role (IRSA, outside this stack) gets this: request jobs as the bridge,
  // copy resources to the bucket and read job status from it.
  resources['BridgePolicy'] = requestJobsPolicy(
    'qpipe bridge on EKS: request jobs, sync resources and status through the results bucket',
    '/qpipe/bridge',
    [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: bucketObjects }, listBucket],
  );
  for (const stage of LAMBDA_STAGES) {
    resources[`${PascalCase(stage)}Role`] = role(stage);
    resources[`${PascalCase(stage)}DeadLetters`] = deadLetterQueue();
    resources[`${PascalCase(stage)}DeadLettersPolicy`] = queuePolicy(stage);
    resources[`${PascalCase(stage)}DeadLettersAlarm`] = alarm({
      description: `Events ${stage} could not handle are waiting in its queue (qpipe dead-letters list)`,
      namespace: 'AWS/SQS',
      metric: 'ApproximateNumberOfMessagesVisible',
      dimension: { Name: 'QueueName', Value: { 'Fn::GetAtt': [`${PascalCase(stage)}DeadLetters`, 'QueueName'] } },
      statistic: 'Maximum',
    });
    resources[`${PascalCase(stage)}ErrorsAlarm`] = alarm({
      description: `The ${stage} function failed`,
      namespace: 'AWS/Lambda',
      metric: 'Errors',
      dimension: { Name: 'FunctionName', Value: `\${self:service}-\${sls:stage}-${stage}` },
      statistic: 'Sum',
    });
  }
  const config = {
    service: 'qpipe',
    frameworkVersion: '>=3',
    configValidationMode: 'warn',
    provider: {
      name: 'aws',
      runtime: 'nodejs24.x',
      architecture: 'arm64',
      region: "${opt:region, 'eu-west-1'}",
      stage: "${opt:stage, 'dev'}",
      logRetentionInDays: 30,
      deploymentBucket: { blockPublicAccess: true, versioning: true },
      environment: {
        QPIPE_EVENT_BUS: { Ref: 'QpipeBus' },
        QPIPE_EVENT_BUS_ARN: { 'Fn::GetAtt': ['QpipeBus', 'Arn'] },
        QPIPE_SCHEDULER_ROLE_ARN: { 'Fn::GetAtt': ['SchedulerRole', 'Arn'] },
        // execute's capacity, told to every stage so validation and selection decide on it.
        QPIPE_SIMULATOR_MAX_MEMORY: `\${param:simulatorMemory, '${simulatorMaxMemory(SIZES.execute.lambdaMB ?? 3008)}'}`,
        QPIPE_S3_BUCKET: { Ref: 'ResultsBucket' },
        QPIPE_CLUSTER: 'local',
        QPIPE_STORE: '/tmp/qpipe',
        QPIPE_MAIL_TRANSPORT: "${param:mailTransport, 'ses'}",
        QPIPE_MAIL_FROM: "${param:mailFrom, 'qpipe@example.com'}",
        // Braket (opt in: --param braket=true) writes results to its own bucket; its task events end them.
        QPIPE_BRAKET: "${param:braket, 'false'}",
        QPIPE_BRAKET_OUTPUT_BUCKET: { Ref: 'BraketResultsBucket' },
        QPIPE_BRAKET_STATE_EVENTS: 'true',
        // IBM Quantum (opt in): the SecureString holding the API key, e.g. /qpipe/ibm-api-key,
        // read at each cold start; the instance's CRN is not secret.
        IBM_QUANTUM_API_KEY_PARAMETER: "${param:ibmApiKeyParameter, ''}",
        IBM_QUANTUM_CRN: "${param:ibmCrn, ''}",
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
    },
    package: { individually: true, patterns: ['!**'] },
    functions: Object.fromEntries(LAMBDA_STAGES.map((stage) => [stage, fn(stage)])),
    resources: {
      Resources: resources,
      Outputs: {
        EventBusName: { Value: { Ref: 'QpipeBus' } },
        ResultsBucketName: { Value: { Ref: 'ResultsBucket' } },
        SubmitJobsPolicyArn: {
          Description: 'Attach to a CI principal: it may request jobs, nothing else',
          Value: { Ref: 'SubmitJobsPolicy' },
        },
        AlarmTopicArn: { Description: 'Subscribe to get qpipe alarms', Value: { Ref: 'QpipeAlarms' } },
        BridgePolicyArn: { Description: "Attach to the EKS bridge's IRSA role", Value: { Ref: 'BridgePolicy' } },
      },
    },
  };
  return `# Generated from events/types.ts (SUBSCRIPTIONS) by \`npm run gen\` (infra/aws/render.ts). Do not edit.\n${stringify(config, { lineWidth: 0 })}`;
}
