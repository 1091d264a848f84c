/** Dead-letter queues as qpipe's stacks make them: kept the 14 days SQS allows, encrypted, fed only by named rules. */

/** A dead-letter queue: 14 days (SQS's most), SSE-SQS (EventBridge cannot use the aws/sqs key). */
export function deadLetterQueue() {
  return { Type: 'AWS::SQS::Queue', Properties: { MessageRetentionPeriod: 1_209_600, SqsManagedSseEnabled: true } };
}

/** A queue policy letting EventBridge send to `queue` only for the rules `sourceArn` names (aws:SourceArn). */
export function rulesOnlyQueuePolicy(queue: string, sourceArn: { ArnLike: unknown } | { ArnEquals: unknown }) {
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
            Condition: sourceArn,
          },
        ],
      },
    },
  };
}
