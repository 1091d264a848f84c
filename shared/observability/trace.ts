/**
 * Traces through the pipeline on the CloudEvents `traceparent` extension (W3C Trace
 * Context): ingress starts a trace, every stage handles an event in a span that is a child
 * of the event's, and the events it emits carry that span as their parent. Spans go
 * through the OpenTelemetry API, so they are exported when the process registers an SDK
 * (configuration, off by default); without one, qpipe still mints and carries the ids.
 */
import { randomBytes } from 'node:crypto';
import { context, type Span, SpanKind, SpanStatusCode, trace, TraceFlags, type SpanContext } from '@opentelemetry/api';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The ids of a traceparent, or undefined when it is absent or malformed. */
export function parseTraceparent(value: unknown): SpanContext | undefined {
  const match = typeof value === 'string' ? TRACEPARENT.exec(value) : null;
  if (!match || /^0+$/.test(match[1] as string) || /^0+$/.test(match[2] as string)) return undefined;
  return {
    traceId: match[1] as string,
    spanId: match[2] as string,
    traceFlags: Number.parseInt(match[3] as string, 16),
    isRemote: true,
  };
}

/** A traceparent header value. */
export function formatTraceparent(span: SpanContext): string {
  return `00-${span.traceId}-${span.spanId}-${(span.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** One stage's handling of one event. */
export interface StageSpan {
  readonly traceId: string;
  /** The traceparent events emitted by this handling carry. */
  readonly traceparent: string;
  end(error?: string): void;
}

/** Starts the span of a stage handling an event; a new trace when the event carries none (ingress). */
export function startStageSpan(stage: string, eventType: string, traceparent: unknown): StageSpan {
  const parent = parseTraceparent(traceparent);
  const parentContext = parent ? trace.setSpanContext(context.active(), parent) : context.active();
  const span: Span = trace
    .getTracer('qpipe')
    .startSpan(
      `${stage} ${eventType}`,
      { kind: SpanKind.CONSUMER, attributes: { 'qpipe.stage': stage, 'cloudevents.event_type': eventType } },
      parentContext,
    );
  const recorded = span.spanContext();
  // Without an SDK the API's span is a no-op that echoes its parent: mint the ids here.
  const own: SpanContext =
    trace.isSpanContextValid(recorded) && recorded.spanId !== parent?.spanId
      ? recorded
      : {
          traceId: parent?.traceId ?? randomBytes(16).toString('hex'),
          spanId: randomBytes(8).toString('hex'),
          traceFlags: parent?.traceFlags ?? TraceFlags.SAMPLED,
        };
  return {
    traceId: own.traceId,
    traceparent: formatTraceparent(own),
    end: (error) => {
      if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
      span.end();
    },
  };
}
