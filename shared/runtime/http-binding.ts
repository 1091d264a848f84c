/** CloudEvents over HTTP: pure conversions (cloudevents SDK) and an injected sender. */
import type { CloudEvent } from 'cloudevents';
import { HTTP } from 'cloudevents';
import { InvalidInputError, QpipeError, TransientError } from '../errors.ts';

/** An HTTP message: headers and a body. */
export interface HttpMessage {
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Reads a CloudEvent from a request in binary or structured mode; a malformed one is InvalidInputError. */
export function eventFromHttp(message: HttpMessage): CloudEvent<unknown> {
  const version = declaredSpecVersion(message);
  if (version !== '1.0') {
    throw new InvalidInputError(
      'specversion',
      version === undefined ? 'is missing; CloudEvents 1.0 is required' : `must be 1.0 (got ${version.slice(0, 20)})`,
    );
  }
  try {
    const event = HTTP.toEvent({ headers: message.headers, body: message.body });
    if (Array.isArray(event))
      throw new InvalidInputError('body', 'batched CloudEvents are not accepted; send one event per request');
    return event as CloudEvent<unknown>;
  } catch (error) {
    if (error instanceof InvalidInputError) throw error;
    throw new InvalidInputError('request', `not a valid CloudEvent: ${(error as Error).message}`, { cause: error });
  }
}

/** The specversion a request declares, in binary mode (ce-specversion) or structured mode (the body's). */
function declaredSpecVersion(message: HttpMessage): string | undefined {
  const header = Object.entries(message.headers).find(([name]) => name.toLowerCase() === 'ce-specversion')?.[1];
  if (header !== undefined) return header;
  try {
    const parsed: unknown = JSON.parse(message.body);
    // A batch is refused with its own message by the SDK's reading below.
    const body: unknown = Array.isArray(parsed) ? parsed[0] : parsed;
    const version = (body as { specversion?: unknown } | null)?.specversion;
    return typeof version === 'string' ? version : undefined;
  } catch {
    return undefined;
  }
}

/** The binary-mode HTTP message of an event (Knative replies and broker posts use binary mode). */
export function eventToHttp(event: CloudEvent<unknown>): HttpMessage {
  const message = HTTP.binary(event);
  const headers = Object.fromEntries(Object.entries(message.headers).map(([k, v]) => [k, String(v)]));
  const body = typeof message.body === 'string' ? message.body : JSON.stringify(message.body);
  return { headers, body };
}

/** Sends events to a URL (a broker, K_SINK); injected so tests and runtimes can choose. */
export type EventSender = (url: string, events: readonly CloudEvent<unknown>[]) => Promise<void>;

/** Posts each event in binary mode with fetch; a non-2xx answer is a retryable error. */
export const postEvents: EventSender = async (url, events) => {
  for (const event of events) {
    const { headers, body } = eventToHttp(event);
    let response: Response;
    try {
      response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(30_000) });
    } catch (cause) {
      throw new TransientError(`could not deliver ${event.type} to ${url}: ${(cause as Error).message}`, { cause });
    }
    if (!response.ok) {
      throw new QpipeError(`${url} answered HTTP ${response.status} to ${event.type}`, {
        retryable: response.status >= 500 || response.status === 429,
      });
    }
  }
};
