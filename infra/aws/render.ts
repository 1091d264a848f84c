/**
 * Renders serverless.yml from the stage list and the event catalog's SUBSCRIPTIONS
 * (`npm run gen`), so the EventBridge rules route exactly what the code subscribes to.
 * Osls (the maintained fork of the Serverless Framework v3) packages it offline.
 */
import { stringify } from 'yaml';
import { type Stage, SUBSCRIPTIONS } from '../../events/types.ts';

const LAMBDA_STAGES = Object.keys(SUBSCRIPTIONS) as Stage[];

const PascalCase = (stage: string) => stage.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase());

// execute holds state vectors; the rest are small.
const MEMORY: Record<Stage, number> = {
  validate: 512,
  'select-backend': 256,
  'enforce-budget': 256,
  execute: 3008,
  'collect-results': 512,
  notify: 256,
};

const TIMEOUT: Record<Stage, number> = {
  validate: 30,
  'select-backend': 30,
  'enforce-budget': 30,
  execute: 900,
  'collect-results': 60,
  notify: 60,
};

type Statement = { Effect: 'Allow'; Action: string[]; Resource: unknown };

const bucketObjects = { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['ResultsBucket', 'Arn'] }, '/*']] };
const braketResults = { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['BraketResultsBucket', 'Arn'] }, '/*']] };
const putEvents: Statement = {
  Effect: 'Allow',
  Action: ['events:PutEvents'],
  Resource: { 'Fn::GetAtt': ['QpipeBus', 'Arn'] },
};
const logs: Statement = {
  Effect: 'Allow',
  Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
  Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/*:*' },
};

/** Least privilege per function: validate cannot call Braket, only execute can, only notify sends mail. */
const STATEMENTS: Record<Stage, Statement[]> = {
  validate: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: bucketObjects }],
  'select-backend': [
    // Circuits over 64 KiB arrive by reference; selection translates them for each device.
    { Effect: 'Allow', Action: ['s3:GetObject'], Resource: bucketObjects },
    { Effect: 'Allow', Action: ['braket:GetDevice', 'braket:SearchDevices'], Resource: '*' },
  ],
  'enforce-budget': [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: bucketObjects }],
  execute: [
    { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: bucketObjects },
    { Effect: 'Allow', Action: ['s3:PutObject'], Resource: braketResults },
    {
      Effect: 'Allow',
      Action: ['braket:CreateQuantumTask', 'braket:GetQuantumTask', 'braket:CancelQuantumTask', 'braket:GetDevice'],
      Resource: '*',
    },
  ],
  'collect-results': [
    { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: bucketObjects },
    { Effect: 'Allow', Action: ['s3:GetObject'], Resource: braketResults },
    { Effect: 'Allow', Action: ['braket:GetQuantumTask', 'braket:GetDevice'], Resource: '*' },
  ],
  notify: [
    { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Resource: bucketObjects },
    { Effect: 'Allow', Action: ['ses:SendEmail'], Resource: '*' },
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
          PolicyDocument: { Version: '2012-10-17', Statement: [logs, putEvents, ...STATEMENTS[stage]] },
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

function fn(stage: Stage) {
  const rule = (pattern: Record<string, unknown>, bus?: unknown) => ({
    eventBridge: {
      ...(bus === undefined ? {} : { eventBus: bus }),
      pattern,
      retryPolicy: { maximumEventAge: 3600, maximumRetryAttempts: 8 },
      deadLetterQueueArn: { 'Fn::GetAtt': [`${PascalCase(stage)}DeadLetters`, 'Arn'] },
    },
  });
  const events = [rule({ 'detail-type': [...SUBSCRIPTIONS[stage]] }, { 'Fn::GetAtt': ['QpipeBus', 'Name'] })];
  // Braket reports task completion on the default bus.
  if (stage === 'collect-results')
    events.push(rule({ source: ['aws.braket'], 'detail-type': ['Braket Task State Change'] }));
  return {
    handler: `.build/${stage}/index.handler`,
    memorySize: MEMORY[stage],
    timeout: TIMEOUT[stage],
    role: `${PascalCase(stage)}Role`,
    package: { patterns: [`.build/${stage}/**`] },
    environment: { QPIPE_STAGE: stage },
    events,
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
      LifecycleConfiguration: {
        Rules: [
          { Id: 'expire-old-results', Status: 'Enabled', Prefix: 'runs/', ExpirationInDays: 90 },
          { Id: 'expire-held-and-markers', Status: 'Enabled', Prefix: 'notifications/', ExpirationInDays: 400 },
        ],
      },
    }),
    // Braket's service-linked role writes task results only to buckets named amazon-braket-*.
    BraketResultsBucket: privateBucket({
      BucketName: { 'Fn::Sub': 'amazon-braket-${AWS::AccountId}-${AWS::Region}-${self:service}-${sls:stage}' },
      LifecycleConfiguration: { Rules: [{ Id: 'expire-task-results', Status: 'Enabled', ExpirationInDays: 90 }] },
    }),
  };
  for (const stage of LAMBDA_STAGES) {
    resources[`${PascalCase(stage)}Role`] = role(stage);
    resources[`${PascalCase(stage)}DeadLetters`] = deadLetterQueue();
    resources[`${PascalCase(stage)}DeadLettersPolicy`] = queuePolicy(stage);
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
      environment: {
        QPIPE_EVENT_BUS: { Ref: 'QpipeBus' },
        QPIPE_S3_BUCKET: { Ref: 'ResultsBucket' },
        QPIPE_CLUSTER: 'local',
        QPIPE_STORE: '/tmp/qpipe',
        QPIPE_MAIL_TRANSPORT: "${param:mailTransport, 'ses'}",
        QPIPE_MAIL_FROM: "${param:mailFrom, 'qpipe@example.com'}",
        // Braket (opt in: --param braket=true) writes results to its own bucket; its task events end them.
        QPIPE_BRAKET: "${param:braket, 'false'}",
        QPIPE_BRAKET_OUTPUT_BUCKET: { Ref: 'BraketResultsBucket' },
        QPIPE_BRAKET_STATE_EVENTS: 'true',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
    },
    package: { individually: true, patterns: ['!**'] },
    functions: Object.fromEntries(LAMBDA_STAGES.map((stage) => [stage, fn(stage)])),
    resources: {
      Resources: resources,
      Outputs: { EventBusName: { Value: { Ref: 'QpipeBus' } }, ResultsBucketName: { Value: { Ref: 'ResultsBucket' } } },
    },
  };
  return `# Generated from events/types.ts (SUBSCRIPTIONS) by \`npm run gen\` (infra/aws/render.ts). Do not edit.\n${stringify(config, { lineWidth: 0 })}`;
}
