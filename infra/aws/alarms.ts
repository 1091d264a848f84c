/**
 * Alarms that reach someone: an SNS topic encrypted with a customer key whose policy lets
 * CloudWatch use it (alarms cannot publish to a topic under the AWS-managed alias/aws/sns key),
 * and alarms on every way the stack can lose or stall work: function errors, throttles,
 * asynchronous events dropped or not delivered to their on-failure queue, dead letters waiting
 * (and ageing towards SQS's 14-day limit), rules that could neither invoke nor dead-letter, and
 * Scheduler deliveries dropped. Each links its runbook (docs/runbooks/, shared with Kubernetes).
 */
import { type RunbookPage, runbookUrl } from '../runbooks.ts';

const BUS_NAME = '${self:service}-${sls:stage}';

/** The topic's key: the account administers it; CloudWatch (and EventBridge) may encrypt with it for this account only. */
export function alarmResources(): Record<string, unknown> {
  return {
    AlarmTopicKey: {
      Type: 'AWS::KMS::Key',
      Properties: {
        Description: 'qpipe alarm topic',
        EnableKeyRotation: true,
        KeyPolicy: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'account-administers',
              Effect: 'Allow',
              Principal: { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' } },
              Action: 'kms:*',
              Resource: '*',
            },
            {
              Sid: 'cloudwatch-publishes-alarms',
              Effect: 'Allow',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
              Resource: '*',
              Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
            },
          ],
        },
      },
    },
    QpipeAlarms: {
      Type: 'AWS::SNS::Topic',
      Properties: { KmsMasterKeyId: { Ref: 'AlarmTopicKey' }, DisplayName: 'qpipe alarms' },
    },
    QpipeAlarmsPolicy: {
      Type: 'AWS::SNS::TopicPolicy',
      Properties: {
        Topics: [{ Ref: 'QpipeAlarms' }],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'cloudwatch-alarms-of-this-account',
              Effect: 'Allow',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: 'sns:Publish',
              Resource: { Ref: 'QpipeAlarms' },
              Condition: {
                ArnLike: {
                  'aws:SourceArn': {
                    'Fn::Sub': 'arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*',
                  },
                },
              },
            },
          ],
        },
      },
    },
    // Rules on the bus that failed for good and could not dead-letter either (one Metrics Insights query each).
    BusDeliveryFailuresAlarm: insightsAlarm(
      'lost-deliveries',
      `A rule on ${BUS_NAME} could not invoke its function for good`,
      `SELECT SUM(FailedInvocations) FROM SCHEMA("AWS/Events", EventBusName, RuleName) WHERE EventBusName = '${BUS_NAME}'`,
    ),
    BusDeadLetterFailuresAlarm: insightsAlarm(
      'lost-deliveries',
      `A rule on ${BUS_NAME} could not put an event in its dead-letter queue`,
      `SELECT SUM(InvocationsFailedToBeSentToDlq) FROM SCHEMA("AWS/Events", EventBusName, RuleName) WHERE EventBusName = '${BUS_NAME}'`,
    ),
    SchedulerDroppedAlarm: alarm({
      runbook: 'lost-deliveries',
      description: 'EventBridge Scheduler dropped a delayed event (the timer releases it from its backstop)',
      namespace: 'AWS/Scheduler',
      metric: 'InvocationDroppedCount',
      dimension: { Name: 'ScheduleGroup', Value: { Ref: 'QpipeSchedules' } },
    }),
    ...deadLetterAlarms('SchedulerDeadLetters', 'EventBridge Scheduler'),
  };
}

/** Alarms on one function: errors, throttles, events dropped or not delivered to its queue. */
export function functionAlarms(pascal: string, stage: string): Record<string, unknown> {
  const fn = { Name: 'FunctionName', Value: `\${self:service}-\${sls:stage}-${stage}` };
  const on = (metric: string, runbook: RunbookPage, description: string) =>
    alarm({ runbook, description, namespace: 'AWS/Lambda', metric, dimension: fn });
  return {
    [`${pascal}ErrorsAlarm`]: on('Errors', 'stage-down', `The ${stage} function failed`),
    [`${pascal}ThrottlesAlarm`]: on('Throttles', 'retries', `Lambda throttled the ${stage} function`),
    [`${pascal}DroppedEventsAlarm`]: on(
      'AsyncEventsDropped',
      'lost-deliveries',
      `Lambda dropped events for ${stage} without running it`,
    ),
    [`${pascal}DestinationFailuresAlarm`]: on(
      'DestinationDeliveryFailures',
      'lost-deliveries',
      `Events ${stage} failed could not be put in its queue`,
    ),
  };
}

/** Alarms on the scheduled backup: it failed, or its schedule's invocation was dropped. */
export function backupAlarms(): Record<string, unknown> {
  const fn = { Name: 'FunctionName', Value: '${self:service}-${sls:stage}-backup' };
  const on = (metric: string, description: string) =>
    alarm({ runbook: 'backup-failed', description, namespace: 'AWS/Lambda', metric, dimension: fn });
  return {
    BackupErrorsAlarm: on('Errors', 'The scheduled backup failed'),
    BackupDroppedEventsAlarm: on('AsyncEventsDropped', 'The scheduled backup did not run (its invocation was dropped)'),
  };
}

/** Alarms on a dead-letter queue: something waits, and the oldest is a week old (SQS forgets it at 14 days). */
export function deadLetterAlarms(queue: string, whose: string): Record<string, unknown> {
  const dimension = { Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } };
  return {
    [`${queue}Alarm`]: alarm({
      runbook: 'dead-letters',
      description: `Events ${whose} could not handle are waiting in its queue (qpipe dead-letters list)`,
      namespace: 'AWS/SQS',
      metric: 'ApproximateNumberOfMessagesVisible',
      dimension,
      statistic: 'Maximum',
    }),
    [`${queue}AgeAlarm`]: alarm({
      runbook: 'dead-letters',
      description: `The oldest dead letter of ${whose} is a week old; SQS deletes it at 14 days`,
      namespace: 'AWS/SQS',
      metric: 'ApproximateAgeOfOldestMessage',
      dimension,
      statistic: 'Maximum',
      threshold: 7 * 86_400,
    }),
  };
}

const description = (page: RunbookPage, text: string) => `${text}. Runbook: ${runbookUrl(page)}`;

/** An alarm that fires when a metric is above `threshold` (0) for five minutes, notifying the alarm topic. */
function alarm(options: {
  runbook: RunbookPage;
  description: string;
  namespace: string;
  metric: string;
  dimension: { Name: string; Value: unknown };
  statistic?: 'Maximum' | 'Sum';
  threshold?: number;
}) {
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmDescription: description(options.runbook, options.description),
      Namespace: options.namespace,
      MetricName: options.metric,
      Dimensions: [options.dimension],
      Statistic: options.statistic ?? 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: options.threshold ?? 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: 'QpipeAlarms' }],
    },
  };
}

/** An alarm on a CloudWatch Metrics Insights query, above zero over five minutes. */
function insightsAlarm(runbook: RunbookPage, text: string, query: string) {
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmDescription: description(runbook, text),
      Metrics: [{ Id: 'q1', Expression: query, Period: 300, ReturnData: true }],
      EvaluationPeriods: 1,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: 'QpipeAlarms' }],
    },
  };
}
