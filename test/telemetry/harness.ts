/**
 * The real OpenTelemetry SDK for telemetry tests: a tracer provider exporting to an
 * in-memory span exporter, a meter provider read on demand by a MetricReader.
 */
import {
  type DataPoint,
  type Histogram,
  MeterProvider,
  MetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

/** A reader that exports nothing by itself: the test collects when it wants. */
class PullReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

export interface OtelHarness {
  tracerProvider: BasicTracerProvider;
  meterProvider: MeterProvider;
  spans(): ReadableSpan[];
  /** Every data point of `name` (the metric absent: none). */
  points(name: string): Promise<DataPoint<unknown>[]>;
  /** The histogram points of `name`, as `{ attributes, count, sum, boundaries }`. */
  histogram(name: string): Promise<HistogramPoint[]>;
  shutdown(): Promise<void>;
}

export interface HistogramPoint {
  attributes: Record<string, unknown>;
  count: number;
  sum: number | undefined;
  boundaries: number[];
}

export function otelHarness(): OtelHarness {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const reader = new PullReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  async function collect(): Promise<ResourceMetrics> {
    const { resourceMetrics, errors } = await reader.collect();
    if (errors.length > 0) throw errors[0];
    return resourceMetrics;
  }
  async function points(name: string): Promise<DataPoint<unknown>[]> {
    const metrics = await collect();
    for (const scope of metrics.scopeMetrics) {
      for (const metric of scope.metrics) {
        if (metric.descriptor.name === name) return metric.dataPoints as DataPoint<unknown>[];
      }
    }
    return [];
  }
  return {
    tracerProvider,
    meterProvider,
    spans: () => exporter.getFinishedSpans(),
    points,
    async histogram(name) {
      return (await points(name)).map((point) => {
        const value = point.value as Histogram;
        return {
          attributes: { ...point.attributes },
          count: value.count,
          sum: value.sum,
          boundaries: value.buckets.boundaries,
        };
      });
    },
    async shutdown() {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}

/** A span's events as the tests compare them: name and attributes. */
export function eventsOf(span: ReadableSpan): { name: string; attributes: unknown }[] {
  return span.events.map((e) => ({ name: e.name, attributes: e.attributes }));
}

/** The `tokenwire.resume` event after attempt 1 broke with a connection reset after `tokens` tokens. */
export function resumeAfterReset(tokens: number, delayMs: unknown) {
  return {
    name: 'tokenwire.resume',
    attributes: {
      'error.type': 'connection_reset',
      'tokenwire.error.phase': 'stream',
      'tokenwire.attempt': 1,
      'tokenwire.tokens_received': tokens,
      'tokenwire.retry.delay_ms': delayMs,
    },
  };
}

/** The `tokenwire.endpoint_change` event of attempt 2, sent to `endpoint` after a reset on `previous`. */
export function endpointChangeAfterReset(previous: string, endpoint: string, tokens: number) {
  return {
    name: 'tokenwire.endpoint_change',
    attributes: {
      'tokenwire.endpoint.previous': previous,
      'tokenwire.endpoint': endpoint,
      'error.type': 'connection_reset',
      'tokenwire.attempt': 2,
      'tokenwire.tokens_received': tokens,
    },
  };
}
