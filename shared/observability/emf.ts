/**
 * The same metrics on Lambda, where nothing scrapes: after each invocation, what changed
 * is written to stdout in CloudWatch's embedded metric format, which CloudWatch Logs turns
 * into metrics. Counters and histogram sums and counts are written as deltas since the last
 * flush (a warm container keeps counting); gauges as their value.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
import type { Registry } from 'prom-client';

/** CloudWatch's namespace for qpipe's metrics. */
export const EMF_NAMESPACE = 'qpipe';

function unitOf(name: string): string {
  if (name.endsWith('_count') || name.endsWith('_total')) return 'Count';
  if (name.includes('_seconds')) return 'Seconds';
  return 'None';
}

/** Turns registry readings into EMF documents, remembering counter values between calls. */
export class EmfWriter {
  private readonly previous = new Map<string, number>();

  constructor(private readonly registry: Registry) {}

  /** One document per changed series. */
  async documents(now = Date.now()): Promise<Record<string, unknown>[]> {
    const documents: Record<string, unknown>[] = [];
    for (const metric of await this.registry.getMetricsAsJSON()) {
      for (const reading of metric.values) {
        const name = (reading as { metricName?: string }).metricName ?? metric.name;
        // Buckets are for Prometheus' quantiles; CloudWatch computes its own from sum and count.
        if (String(metric.type) === 'histogram' && !name.endsWith('_sum') && !name.endsWith('_count')) continue;
        let value = reading.value;
        if (String(metric.type) !== 'gauge') {
          const key = `${name}${JSON.stringify(reading.labels)}`;
          value = reading.value - (this.previous.get(key) ?? 0);
          this.previous.set(key, reading.value);
          if (value === 0) continue;
        }
        const labels = Object.fromEntries(Object.entries(reading.labels).map(([k, v]) => [k, String(v)]));
        documents.push({
          _aws: {
            Timestamp: now,
            CloudWatchMetrics: [
              {
                Namespace: EMF_NAMESPACE,
                Dimensions: [Object.keys(labels)],
                Metrics: [{ Name: name, Unit: unitOf(name) }],
              },
            ],
          },
          ...labels,
          [name]: value,
        });
      }
    }
    return documents;
  }

  /** Writes the documents as log lines. */
  async flush(write: (line: string) => void = (line) => process.stdout.write(line)): Promise<void> {
    for (const document of await this.documents()) write(`${JSON.stringify(document)}\n`);
  }
}
