/**
 * The stack's IAM: least privilege per function, opt-ins (Braket, IBM) granted only to the
 * functions that use them and only when on (CloudFormation conditions), the bus policy that
 * keeps qpipe's internal sources to the stack's own roles.
 *
 * Braket per the Service Authorization Reference ("Actions, resources, and condition keys for
 * Amazon Braket", read 2026-12-07): CreateQuantumTask takes no resource type (Resource "*"),
 * with aws:RequestTag/aws:TagKeys conditions and braket:TagResource as a dependent action when
 * tags are given; GetQuantumTask, CancelQuantumTask and TagResource take `quantum-task`
 * (arn:${Partition}:braket:${Region}:${Account}:quantum-task/${RandomId}); GetDevice and
 * SearchDevices take none. Tasks live in the device's region, so task ARNs are matched in every
 * region and calls are limited to Braket's regions with aws:RequestedRegion.
 */
import { STORE_PREFIXES } from '../../shared/storage/store-prefixes.ts';
import { EventType, type Stage, stageSource } from '../../events/types.ts';
import { TIMER_SOURCE } from '../../shared/runtime/timer.ts';
import { taskTags } from '../../shared/backends/braket/braket-executor.ts';
import { BRAKET_REGIONS, DEFAULT_BRAKET_REGION } from './braket-regions.ts';

export type Statement = {
  Effect: 'Allow' | 'Deny';
  Action: string[];
  Resource: unknown;
  Condition?: Record<string, unknown>;
};
/** A statement, or one only present under a CloudFormation condition. */
export type PolicyEntry = Statement | { 'Fn::If': [string, Statement, { Ref: 'AWS::NoValue' }] };

export const PascalCase = (stage: string) => stage.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase());

/** Every prefix qpipe keeps in its bucket; list permission is scoped to them. */
export const BUCKET_PREFIXES = STORE_PREFIXES;

const bucket = { 'Fn::GetAtt': ['ResultsBucket', 'Arn'] };
export const bucketObjects = (prefix = '') => ({
  'Fn::Join': ['', [{ 'Fn::GetAtt': ['ResultsBucket', 'Arn'] }, `/${prefix}*`]],
});

/** The results buckets of the Braket regional stacks (infra/aws/braket-region.yaml). */
const braketBuckets = {
  'Fn::Sub': 'arn:${AWS::Partition}:s3:::amazon-braket-${AWS::AccountId}-*-${self:service}-${sls:stage}/*',
};
const quantumTasks = { 'Fn::Sub': 'arn:${AWS::Partition}:braket:*:${AWS::AccountId}:quantum-task/*' };
const BRAKET_REGION_PARAM = `\${param:braketRegion, '${DEFAULT_BRAKET_REGION}'}`;
const inBraketRegions = { StringEquals: { 'aws:RequestedRegion': [...BRAKET_REGIONS, BRAKET_REGION_PARAM] } };
/** The tag keys execute puts on each task. */
const TASK_TAG_KEYS = Object.keys(taskTags({ namespace: '', name: '', uid: '' }));

/** Putting events on the qpipe bus only with the given source(s) (IAM's events:source condition), and type. */
export function putEventsAs(source: string | string[], detailType?: string): Statement {
  return {
    Effect: 'Allow',
    Action: ['events:PutEvents'],
    Resource: { 'Fn::GetAtt': ['QpipeBus', 'Arn'] },
    Condition: {
      StringEquals: { 'events:source': source, ...(detailType ? { 'events:detail-type': detailType } : {}) },
    },
  };
}

/** Reading keys that may be missing needs list permission, or S3 answers 403 instead of 404. */
export function listBucket(prefixes: readonly string[] = BUCKET_PREFIXES): Statement {
  return {
    Effect: 'Allow',
    Action: ['s3:ListBucket'],
    Resource: bucket,
    Condition: { StringLike: { 's3:prefix': prefixes.map((p) => `${p}*`) } },
  };
}

/** Only enforce-budget writes ledgers (DESIGN.md): every other principal is denied it outright. */
export const noLedgerWrites: Statement = {
  Effect: 'Deny',
  Action: ['s3:PutObject', 's3:DeleteObject'],
  Resource: bucketObjects('ledgers/'),
};

/**
 * A failed asynchronous invocation goes to the stage's queue (Lambda on-failure destination).
 * Lambda checks this grant when the destination is configured, so it is a policy resource of
 * its own that the destination waits for (DependsOn), not a line the role may not have yet.
 */
export function onFailurePolicy(stage: Stage) {
  const pascal = PascalCase(stage);
  return {
    Type: 'AWS::IAM::Policy',
    Properties: {
      PolicyName: `qpipe-${stage}-on-failure`,
      Roles: [{ Ref: `${pascal}Role` }],
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: { 'Fn::GetAtt': [`${pascal}DeadLetters`, 'Arn'] } },
        ],
      },
    },
  };
}

const logs: Statement = {
  Effect: 'Allow',
  Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
  Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/*:*' },
};

/** Stages that emit delayed events create one-time schedules in the stack's group. */
const schedules: Statement[] = [
  {
    Effect: 'Allow',
    Action: ['scheduler:CreateSchedule'],
    Resource: {
      'Fn::Sub': 'arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/${QpipeSchedules}/qpipe-*',
    },
  },
  { Effect: 'Allow', Action: ['iam:PassRole'], Resource: { 'Fn::GetAtt': ['SchedulerRole', 'Arn'] } },
];

const when = (condition: string, statement: Statement): PolicyEntry => ({
  'Fn::If': [condition, statement, { Ref: 'AWS::NoValue' }],
});

/** An opt-in: the condition that turns it on, the stages that use it, their settings and grants. */
export interface OptIn {
  readonly condition: string;
  readonly stages: Partial<Record<Stage, { environment: Record<string, unknown>; statements: Statement[] }>>;
}

const getDevice: Statement = {
  Effect: 'Allow',
  Action: ['braket:GetDevice'],
  Resource: '*',
  Condition: inBraketRegions,
};
const braketEnvironment = {
  QPIPE_BRAKET: 'true',
  // One bucket per device region, made by that region's qpipe-braket stack; `{region}` is filled in per task.
  QPIPE_BRAKET_OUTPUT_BUCKET: { 'Fn::Sub': 'amazon-braket-${AWS::AccountId}-{region}-${self:service}-${sls:stage}' },
  QPIPE_BRAKET_REGION: BRAKET_REGION_PARAM,
};
const readTasks: Statement = {
  Effect: 'Allow',
  Action: ['braket:GetQuantumTask', 'braket:CancelQuantumTask'],
  Resource: quantumTasks,
  Condition: inBraketRegions,
};

export const BRAKET: OptIn = {
  condition: 'BraketOn',
  stages: {
    'select-backend': { environment: braketEnvironment, statements: [getDevice] },
    execute: {
      environment: braketEnvironment,
      statements: [
        getDevice,
        {
          Effect: 'Allow',
          Action: ['braket:CreateQuantumTask'],
          Resource: '*',
          Condition: { ...inBraketRegions, 'ForAllValues:StringEquals': { 'aws:TagKeys': TASK_TAG_KEYS } },
        },
        // Tags on CreateQuantumTask need TagResource on the new task.
        { Effect: 'Allow', Action: ['braket:TagResource'], Resource: quantumTasks, Condition: inBraketRegions },
        readTasks,
        { Effect: 'Allow', Action: ['s3:PutObject'], Resource: braketBuckets },
      ],
    },
    'collect-results': {
      // Braket's task events reach the stack's bus from every region's qpipe-braket stack; a slow poll is the fallback.
      environment: { ...braketEnvironment, QPIPE_BRAKET_STATE_EVENTS: 'true' },
      statements: [getDevice, readTasks, { Effect: 'Allow', Action: ['s3:GetObject'], Resource: braketBuckets }],
    },
  },
};

const ibmEnvironment = {
  // The SecureString holding the API key, read at each cold start; the instance's CRN is not secret.
  IBM_QUANTUM_API_KEY_PARAMETER: "${param:ibmApiKeyParameter, ''}",
  IBM_QUANTUM_CRN: "${param:ibmCrn, ''}",
};
const ibmKey: Statement = {
  Effect: 'Allow',
  Action: ['ssm:GetParameter'],
  Resource: {
    'Fn::Sub': "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${param:ibmApiKeyParameter, ''}",
  },
};

export const IBM: OptIn = {
  condition: 'IbmOn',
  stages: Object.fromEntries(
    (['select-backend', 'execute', 'collect-results'] as const).map((stage) => [
      stage,
      { environment: ibmEnvironment, statements: [ibmKey] },
    ]),
  ),
};

export const OPT_INS: readonly OptIn[] = [BRAKET, IBM];

/** What each function may do besides logging, putting events as itself and dead-lettering. */
const STATEMENTS: Record<Stage, Statement[]> = {
  validate: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: bucketObjects() }],
  // Circuits over 64 KiB arrive by reference; selection translates them for each device.
  'select-backend': [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: bucketObjects() }],
  'enforce-budget': [
    { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: bucketObjects() },
    ...schedules,
  ],
  execute: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: bucketObjects() }],
  'collect-results': [
    ...schedules,
    { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: bucketObjects() },
  ],
  notify: [
    { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Resource: bucketObjects() },
    {
      // Only as the configured sender.
      Effect: 'Allow',
      Action: ['ses:SendEmail'],
      Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*' },
      Condition: { StringEquals: { 'ses:FromAddress': "${param:mailFrom, 'qpipe@example.com'}" } },
    },
  ],
};

/**
 * A role that `principal` (a service, or an account's principals) may assume, under `condition`
 * (a service assumes it for this account only), with one inline policy.
 */
export function role(
  principal: { Service: string[] } | { AWS: unknown },
  name: string,
  statements: readonly PolicyEntry[],
  condition?: Record<string, unknown>,
) {
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: principal,
            Action: ['sts:AssumeRole'],
            ...(condition ? { Condition: condition } : {}),
          },
        ],
      },
      Policies: [{ PolicyName: name, PolicyDocument: { Version: '2012-10-17', Statement: statements } }],
    },
  };
}

/** For a service's role: only on behalf of this account (the confused-deputy guard). */
export const forThisAccount = { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } };

const lambdaRole = (name: string, statements: readonly PolicyEntry[]) =>
  role({ Service: ['lambda.amazonaws.com'] }, name, statements);

/** A stage's role: its own statements, its opt-ins' when on, never a ledger write but enforce-budget's. */
export function stageRole(stage: Stage) {
  const optIns = OPT_INS.flatMap((optIn) =>
    (optIn.stages[stage]?.statements ?? []).map((statement) => when(optIn.condition, statement)),
  );
  return lambdaRole(`qpipe-${stage}`, [
    logs,
    putEventsAs(stageSource(stage)),
    listBucket(),
    ...STATEMENTS[stage],
    ...optIns,
    ...(stage === 'enforce-budget' ? [] : [noLedgerWrites]),
  ]);
}

/** The timer function: releases overdue delayed events (any stage's) from the backstop records. */
export function timerRole(delayingSources: readonly string[]) {
  return lambdaRole('qpipe-timer', [
    logs,
    putEventsAs([...delayingSources]),
    listBucket(['scheduled/', 'events/']),
    { Effect: 'Allow', Action: ['s3:GetObject', 's3:DeleteObject'], Resource: bucketObjects('scheduled/') },
    // Large events travel by reference (claim-check.ts).
    { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: bucketObjects('events/') },
    noLedgerWrites,
  ]);
}

/** The scheduled backup: reads the stored resources and the ledgers, writes and prunes backups/. */
export function backupRole() {
  return lambdaRole('qpipe-backup', [
    logs,
    listBucket(['resources/', 'ledgers/', 'backups/']),
    { Effect: 'Allow', Action: ['s3:GetObject'], Resource: [bucketObjects('resources/'), bucketObjects('ledgers/')] },
    {
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
      Resource: bucketObjects('backups/'),
    },
    noLedgerWrites,
  ]);
}

/** Sources only the stack's own roles may put on the bus: the stages', and the timer's job requests. */
export function internalSources(stages: readonly Stage[]): string[] {
  return [...stages.map((stage) => stageSource(stage)), TIMER_SOURCE];
}

/**
 * The bus policy: an explicit deny of qpipe's internal sources to every principal but the
 * stack's roles, so nobody in the account with events:PutEvents on "*" can speak for a stage
 * (post an approval and skip validation and budget). Requests from CI and the bridge stay open
 * to the principals whose identity policies allow them (SubmitJobsPolicy, BridgePolicy).
 */
export function busPolicy(stages: readonly Stage[], roles: readonly string[]) {
  return {
    Type: 'AWS::Events::EventBusPolicy',
    Properties: {
      EventBusName: { Ref: 'QpipeBus' },
      StatementId: 'only-the-stack-speaks-for-qpipe',
      Statement: {
        Effect: 'Deny',
        Principal: '*',
        Action: 'events:PutEvents',
        Resource: { 'Fn::GetAtt': ['QpipeBus', 'Arn'] },
        Condition: {
          StringEquals: { 'events:source': internalSources(stages) },
          ArnNotEquals: { 'aws:PrincipalArn': roles.map((role) => ({ 'Fn::GetAtt': [role, 'Arn'] })) },
        },
      },
    },
  };
}

/** A managed policy that may put job requests on the bus with one source only, and `more`. */
export function requestJobsPolicy(description: string, source: string, more: Statement[] = []) {
  return {
    Type: 'AWS::IAM::ManagedPolicy',
    Properties: {
      Description: description,
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [putEventsAs(source, EventType.JobRequested), ...more, noLedgerWrites],
      },
    },
  };
}
