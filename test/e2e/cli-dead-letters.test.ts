/**
 * `qpipe dead-letters list|replay` as a child process: from the store's dead-letters/ (what
 * the Knative broker's sink recorded) to a real HTTP receiver, and from an SQS queue (moto's
 * SQS, with a Lambda on-failure record in the shape AWS documents) onto an EventBridge bus
 * (moto's, whose rule delivers the replayed event to a second queue we read).
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { EXAMPLE_EVENTS } from '../../events/examples.ts';
import { EventType } from '../../events/types.ts';
import { envelope } from '../support/eventbridge-envelope.ts';
import { motoMissing, useMoto } from '../support/moto.ts';

const BIN = new URL('../../bin/qpipe.js', import.meta.url).pathname;
const run = promisify(execFile);

/** A CloudEvents receiver standing in for the broker: it records each event's type and answers 202. */
async function startBroker() {
  const received: string[] = [];
  const broker = createServer((request, response) => {
    received.push(String(request.headers['ce-type']));
    request.resume();
    request.on('end', () => response.writeHead(202).end());
  });
  await new Promise<void>((resolve) => broker.listen(0, '127.0.0.1', resolve));
  return { received, broker, url: `http://127.0.0.1:${(broker.address() as AddressInfo).port}` };
}

describe('qpipe dead-letters from the store (Knative), replayed to a broker (real HTTP)', () => {
  it('lists what the sink recorded and replays it, removing it once delivered', async () => {
    const store = await mkdtemp(join(tmpdir(), 'qpipe-dl-'));
    const failed = EXAMPLE_EVENTS[EventType.JobFailed];
    await mkdir(join(store, 'dead-letters'), { recursive: true });
    await writeFile(
      join(store, 'dead-letters', '2026-11-30T01-00-00-000Z-abcd1234.json'),
      JSON.stringify(failed.toJSON()),
    );
    const env = { ...process.env, QPIPE_STORE: store, LOG_LEVEL: 'silent' };
    const listed = await run(process.execPath, [BIN, 'dead-letters', 'list', '--output', 'json'], { env });
    expect(JSON.parse(listed.stdout)).toMatchObject([{ type: EventType.JobFailed, subject: failed.subject }]);
    const { received, broker, url } = await startBroker();
    const replay = await run(process.execPath, [BIN, 'dead-letters', 'replay', '--to', url], { env });
    broker.close();
    expect(replay.stdout).toMatch(/replayed io\.quantum\.job\.failed/);
    expect(received).toEqual([EventType.JobFailed]);
    expect(existsSync(join(store, 'dead-letters', '2026-11-30T01-00-00-000Z-abcd1234.json'))).toBe(false);
  });
});

describe('qpipe dead-letters replay checks what it puts back (real HTTP receiver)', () => {
  it('replays catalog events from their own sources, and keeps a forged approval, an unknown type and a Braket event, saying why', async () => {
    const store = await mkdtemp(join(tmpdir(), 'qpipe-dl-'));
    await mkdir(join(store, 'dead-letters'), { recursive: true });
    const approved = EXAMPLE_EVENTS[EventType.JobApproved];
    const letters = {
      'a-good.json': EXAMPLE_EVENTS[EventType.JobFailed].toJSON(),
      // An approval that did not come from enforce-budget: replaying it would skip the budget.
      'b-forged.json': { ...approved.toJSON(), source: '/qpipe/submit' },
      'c-unknown.json': { ...approved.toJSON(), type: 'com.example.anything' },
      'd-braket.json': EXAMPLE_EVENTS[EventType.BraketTaskStateChange].toJSON(),
    };
    for (const [name, event] of Object.entries(letters)) {
      await writeFile(join(store, 'dead-letters', name), JSON.stringify(event));
    }
    const { received, broker, url } = await startBroker();
    const env = { ...process.env, QPIPE_STORE: store, LOG_LEVEL: 'silent' };
    const replay = await run(process.execPath, [BIN, 'dead-letters', 'replay', '--to', url], { env }).then(
      () => undefined,
      (error: unknown) => error as { code: number; stdout: string },
    );
    broker.close();
    expect(replay?.code).toBe(1);
    expect(received).toEqual([EventType.JobFailed]);
    expect(replay?.stdout).toMatch(
      /kept io\.quantum\.job\.approved .*may come only from \/qpipe\/enforce-budget, not "\/qpipe\/submit"/,
    );
    expect(replay?.stdout).toMatch(/kept com\.example\.anything .*is not a qpipe event type/);
    expect(replay?.stdout).toMatch(/kept Braket Task State Change .*only Amazon Braket may send/);
    expect(existsSync(join(store, 'dead-letters', 'a-good.json'))).toBe(false);
    for (const kept of ['b-forged.json', 'c-unknown.json', 'd-braket.json']) {
      expect(existsSync(join(store, 'dead-letters', kept)), kept).toBe(true);
    }
  });
});

describe.skipIf(motoMissing() !== undefined)(
  `qpipe dead-letters from an SQS queue onto the bus (moto's SQS and EventBridge)${motoMissing() ? ` (skipped: ${motoMissing()})` : ''}`,
  () => {
    const moto = useMoto();

    it('replays a Lambda on-failure record and a rule dead letter onto the bus, and empties the queue', async () => {
      const config = {
        region: 'eu-west-1',
        endpoint: moto().endpoint,
        credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      };
      const sqs = new SQSClient(config);
      const events = new EventBridgeClient(config);
      const dead = (await sqs.send(new CreateQueueCommand({ QueueName: 'qpipe-dev-execute-dead-letters' })))
        .QueueUrl as string;
      const seen = (await sqs.send(new CreateQueueCommand({ QueueName: 'replayed' }))).QueueUrl as string;
      const seenArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: seen, AttributeNames: ['QueueArn'] })))
        .Attributes?.['QueueArn'];
      await events.send(new CreateEventBusCommand({ Name: 'qpipe-dev' }));
      await events.send(
        new PutRuleCommand({
          Name: 'all',
          EventBusName: 'qpipe-dev',
          EventPattern: JSON.stringify({ source: [{ prefix: '/qpipe/' }] }),
        }),
      );
      await events.send(
        new PutTargetsCommand({ Rule: 'all', EventBusName: 'qpipe-dev', Targets: [{ Id: 'q', Arn: seenArn }] }),
      );

      const envelopeOf = (type: keyof typeof EXAMPLE_EVENTS) => envelope(EXAMPLE_EVENTS[type]);
      // What Lambda sends its on-failure destination after the retries (AWS: "Capturing records
      // of Lambda asynchronous invocations"), and what a rule's DLQ gets: the event itself.
      const onFailure = {
        version: '1.0',
        timestamp: '2026-11-30T01:00:05.568Z',
        requestContext: {
          requestId: 'e4b46cbf-b738-xmpl-8880-a18cdf61200e',
          functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:qpipe-dev-execute:$LATEST',
          condition: 'RetriesExhausted',
          approximateInvokeCount: 3,
        },
        requestPayload: envelopeOf(EventType.JobApproved),
        responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
        responsePayload: { errorMessage: 'S3 denied reading …', errorType: 'StorageAccessError' },
      };
      await sqs.send(new SendMessageCommand({ QueueUrl: dead, MessageBody: JSON.stringify(onFailure) }));
      await sqs.send(
        new SendMessageCommand({ QueueUrl: dead, MessageBody: JSON.stringify(envelopeOf(EventType.JobExecuted)) }),
      );

      const env = {
        ...process.env,
        ...moto().env,
        LOG_LEVEL: 'silent',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      };
      const listed = await run(process.execPath, [BIN, 'dead-letters', 'list', '--queue', dead, '--output', 'json'], {
        env,
      });
      const letters = JSON.parse(listed.stdout) as { type: string; reason?: string }[];
      expect(letters.map((l) => l.type).sort()).toEqual([EventType.JobApproved, EventType.JobExecuted]);
      expect(letters.find((l) => l.type === EventType.JobApproved)?.reason).toBe('RetriesExhausted');

      await run(process.execPath, [BIN, 'dead-letters', 'replay', '--queue', dead, '--bus', 'qpipe-dev'], { env });
      const remaining = await run(
        process.execPath,
        [BIN, 'dead-letters', 'list', '--queue', dead, '--output', 'json'],
        { env },
      );
      expect(JSON.parse(remaining.stdout)).toEqual([]);
      // The bus delivered both, with their types and the pipeline's sources.
      const delivered = await sqs.send(new ReceiveMessageCommand({ QueueUrl: seen, MaxNumberOfMessages: 10 }));
      const types = (delivered.Messages ?? []).map(
        (m) => (JSON.parse(m.Body ?? '{}') as { 'detail-type': string })['detail-type'],
      );
      expect(types.sort()).toEqual([EventType.JobApproved, EventType.JobExecuted]);
    }, 120_000);
  },
);
