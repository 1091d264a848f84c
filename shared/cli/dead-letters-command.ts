/**
 * `qpipe dead-letters list|replay`: what could not be delivered, on either platform.
 * - Knative: the broker's dead-letter sink recorded each CloudEvent under `dead-letters/` in
 *   the shared store; replay POSTs it to the broker again (`--to`).
 * - AWS: each function's SQS queue holds what its rule could not deliver (the EventBridge
 *   event itself) and what the function failed twice (Lambda's on-failure record, the event
 *   in `requestPayload`); replay puts the event on the bus again (`--bus`).
 * A replayed dead letter is removed; one that cannot be replayed stays.
 */
import { type EventBridgeEnvelope, fromEventBridge } from '../../events/eventbridge.ts';
import type { QpipeConfig } from '../config.ts';
import { createDeployedPorts } from '../runtime/deployed-ports.ts';
import { postEvents } from '../runtime/http-binding.ts';
import { getText } from '../storage/object-store.ts';
import { CloudEvent } from 'cloudevents';
import { whyNotReplayable } from './replay-check.ts';

/** One dead letter, for people. */
export interface DeadLetter {
  /** Where it is: a store key, or an SQS receipt. */
  readonly id: string;
  readonly type: string;
  readonly subject?: string;
  readonly source?: string;
  /** Why it is there, when the record says (Lambda's condition, e.g. RetriesExhausted). */
  readonly reason?: string;
  /** Why replay left it where it is (replay-check.ts). */
  readonly kept?: string;
}

/** Where the dead letters are. */
export type DeadLetterSource = { readonly store: true } | { readonly queueUrl: string };

function describe(event: CloudEvent<unknown>, id: string, reason?: string): DeadLetter {
  return {
    id,
    type: event.type,
    source: event.source,
    ...(event.subject === undefined ? {} : { subject: event.subject }),
    ...(reason === undefined ? {} : { reason }),
  };
}

/** The EventBridge event in an SQS message body: the event itself, or a Lambda on-failure record's request. */
export function eventOfQueueMessage(body: string): { event: CloudEvent<unknown>; reason?: string } {
  const record = JSON.parse(body) as Record<string, unknown>;
  const payload = (record['requestPayload'] ?? record) as EventBridgeEnvelope;
  const context = record['requestContext'] as { condition?: string } | undefined;
  return { event: fromEventBridge(payload), ...(context?.condition ? { reason: context.condition } : {}) };
}

async function storeLetters(config: QpipeConfig) {
  const { store } = await createDeployedPorts(config, { budgets: [], backends: [], configMaps: [] });
  const keys = await store.list('dead-letters/');
  const letters: { key: string; event: CloudEvent<unknown> }[] = [];
  for (const key of keys) {
    const text = await getText(store, key);
    if (text !== undefined)
      letters.push({ key, event: new CloudEvent(JSON.parse(text) as Record<string, unknown>, false) });
  }
  return { store, letters };
}

/** Lists dead letters. */
export async function listDeadLetters(from: DeadLetterSource, config: QpipeConfig): Promise<DeadLetter[]> {
  if ('store' in from) return (await storeLetters(config)).letters.map(({ key, event }) => describe(event, key));
  const messages = await receiveAll(from.queueUrl, false);
  return messages.map((m) => {
    const { event, reason } = eventOfQueueMessage(m.body);
    return describe(event, m.id, reason);
  });
}

/** Replays every dead letter that may be replayed to the broker URL or the bus; returns each, those kept saying why. */
export async function replayDeadLetters(
  from: DeadLetterSource,
  to: { readonly url: string } | { readonly bus: string },
  config: QpipeConfig,
): Promise<DeadLetter[]> {
  const publish = await publisherFor(to, config);
  const done: DeadLetter[] = [];
  const replay = async (event: CloudEvent<unknown>, id: string, remove: () => Promise<void>, reason?: string) => {
    const kept = whyNotReplayable(event);
    if (kept === undefined) {
      await publish([event]);
      await remove();
    }
    done.push({ ...describe(event, id, reason), ...(kept === undefined ? {} : { kept }) });
  };
  if ('store' in from) {
    const { store, letters } = await storeLetters(config);
    for (const { key, event } of letters) await replay(event, key, () => store.delete(key));
    return done;
  }
  const messages = await receiveAll(from.queueUrl, true);
  for (const message of messages) {
    const { event, reason } = eventOfQueueMessage(message.body);
    await replay(event, message.id, () => message.remove(), reason);
  }
  // What was kept is visible again at once, for the next list.
  await Promise.all(
    messages.filter((m) => !done.some((d) => d.id === m.id && d.kept === undefined)).map((m) => m.release()),
  );
  return done;
}

async function publisherFor(
  to: { readonly url: string } | { readonly bus: string },
  config: QpipeConfig,
): Promise<(events: CloudEvent<unknown>[]) => Promise<void>> {
  if ('url' in to) return (events) => postEvents(to.url, events);
  const [{ EventBridgeClient }, { createEventBridgePublisher }, { store }] = await Promise.all([
    import('@aws-sdk/client-eventbridge'),
    import('../runtime/eventbridge-publisher.ts'),
    createDeployedPorts(config, { budgets: [], backends: [], configMaps: [] }),
  ]);
  return createEventBridgePublisher({ client: new EventBridgeClient({}), busName: to.bus, store });
}

interface QueueMessage {
  readonly id: string;
  readonly body: string;
  remove(): Promise<void>;
  /** Makes it visible again at once. */
  release(): Promise<void>;
}

/**
 * Every message of the queue. Each is hidden while received (so a page never repeats);
 * listing makes them visible again at once, replaying keeps each hidden until removed.
 */
async function receiveAll(queueUrl: string, forReplay: boolean): Promise<QueueMessage[]> {
  const { SQSClient, ReceiveMessageCommand, DeleteMessageCommand, ChangeMessageVisibilityCommand } =
    await import('@aws-sdk/client-sqs');
  const client = new SQSClient({});
  const messages: (QueueMessage & { receipt: string })[] = [];
  for (;;) {
    const page = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: 300,
      }),
    );
    const received = page.Messages ?? [];
    if (received.length === 0) break;
    for (const m of received) {
      const receipt = m.ReceiptHandle ?? '';
      messages.push({
        id: m.MessageId ?? receipt,
        body: m.Body ?? '{}',
        receipt,
        remove: async () => {
          await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: receipt }));
        },
        release: async () => {
          await client.send(
            new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: receipt, VisibilityTimeout: 0 }),
          );
        },
      });
    }
  }
  if (!forReplay) await Promise.all(messages.map((m) => m.release()));
  return messages;
}
