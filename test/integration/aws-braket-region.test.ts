/**
 * The Braket regional stack on moto's CloudFormation, EventBridge and SQS (real SDK; moto
 * routes rules across regions as EventBridge does): deployed in a device region, it forwards
 * the state changes of qpipe's tasks (those writing to its bucket) from that region's default
 * bus to the qpipe bus in the stack's region, and nobody else's. The qpipe bus here delivers to
 * an SQS queue standing in for collect-results.
 */
import { readFileSync } from 'node:fs';
import { CloudFormationClient, CreateStackCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { EventType } from '../../events/types.ts';
import { BRAKET_REGIONS } from '../../infra/aws/braket-regions.ts';
import { motoMissing, type MotoServer, useMoto } from '../support/moto.ts';

const TEMPLATE = new URL('../../infra/aws/braket-region.yaml', import.meta.url);
const HOME = 'eu-west-1';
const missing = motoMissing();

function clients(moto: MotoServer, region: string) {
  const options = {
    region,
    endpoint: moto.endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  };
  return {
    events: new EventBridgeClient(options),
    sqs: new SQSClient(options),
    cfn: new CloudFormationClient(options),
  };
}

describe.skipIf(missing !== undefined)(
  `the Braket regional stack (moto's CloudFormation, EventBridge and SQS, real SDK)${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    const moto = useMoto();

    it.each(BRAKET_REGIONS.filter((r) => r !== HOME))(
      "forwards the end of qpipe's tasks from %s to the qpipe bus, and no one else's",
      async (region) => {
        const home = clients(moto(), HOME);
        const bus = await home.events.send(new CreateEventBusCommand({ Name: `qpipe-${region}` }));
        const { QueueUrl } = await home.sqs.send(new CreateQueueCommand({ QueueName: `collect-results-${region}` }));
        const { Attributes } = await home.sqs.send(
          new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
        );
        await home.events.send(
          new PutRuleCommand({
            Name: 'collect-results',
            EventBusName: `qpipe-${region}`,
            EventPattern: JSON.stringify({ source: ['aws.braket'], 'detail-type': [EventType.BraketTaskStateChange] }),
          }),
        );
        await home.events.send(
          new PutTargetsCommand({
            Rule: 'collect-results',
            EventBusName: `qpipe-${region}`,
            Targets: [{ Id: 'collect-results', Arn: Attributes?.['QueueArn'] }],
          }),
        );

        const remote = clients(moto(), region);
        await remote.cfn.send(
          new CreateStackCommand({
            StackName: 'qpipe-dev-braket',
            TemplateBody: readFileSync(TEMPLATE, 'utf8'),
            Parameters: [{ ParameterKey: 'QpipeBusArn', ParameterValue: bus.EventBusArn }],
            Capabilities: ['CAPABILITY_IAM'],
          }),
        );
        const { Stacks } = await remote.cfn.send(new DescribeStacksCommand({ StackName: 'qpipe-dev-braket' }));
        expect(Stacks?.[0]?.StackStatus).toBe('CREATE_COMPLETE');
        const ourBucket = Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === 'ResultsBucket')?.OutputValue;
        // The bucket execute names for this region (QPIPE_BRAKET_OUTPUT_BUCKET with {region} filled in).
        expect(ourBucket).toMatch(new RegExp(`^amazon-braket-\\d{12}-${region}-qpipe-dev$`));

        const taskEnded = (bucket: string, task: string) => ({
          Source: 'aws.braket',
          DetailType: EventType.BraketTaskStateChange,
          Detail: JSON.stringify({
            quantumTaskArn: `arn:aws:braket:${region}:123456789012:quantum-task/${task}`,
            status: 'COMPLETED',
            outputS3Bucket: bucket,
          }),
        });
        const put = await remote.events.send(
          new PutEventsCommand({
            Entries: [taskEnded(ourBucket!, 'ours'), taskEnded('amazon-braket-notebooks', 'theirs')],
          }),
        );
        expect(put.FailedEntryCount).toBe(0);

        const arrived: string[] = [];
        for (let tries = 0; tries < 20 && arrived.length === 0; tries++) {
          const { Messages } = await home.sqs.send(
            new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
          );
          arrived.push(
            ...(Messages ?? []).map(
              (m) => (JSON.parse(m.Body ?? '{}') as { detail: { quantumTaskArn: string } }).detail.quantumTaskArn,
            ),
          );
        }
        expect(arrived).toEqual([`arn:aws:braket:${region}:123456789012:quantum-task/ours`]);
      },
      60_000,
    );
  },
);
