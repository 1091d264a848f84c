/** EventBridge events as EventBridge delivers them to a target (AWS docs: "Amazon EventBridge events"). */
import type { CloudEvent } from 'cloudevents';
import { type EventBridgeEnvelope, toEventBridgeEntry } from '../../events/eventbridge.ts';

/** The envelope a Lambda (or a rule's queue) receives for a CloudEvent put on the bus. */
export function envelope(event: CloudEvent<unknown>, id: string = crypto.randomUUID()): EventBridgeEnvelope {
  const entry = toEventBridgeEntry(event, 'qpipe');
  return {
    version: '0',
    id,
    'detail-type': entry.DetailType,
    source: entry.Source,
    account: '111122223333',
    time: '2026-11-26T10:00:00Z',
    region: 'eu-west-1',
    resources: [],
    detail: JSON.parse(entry.Detail) as Record<string, unknown>,
  };
}
