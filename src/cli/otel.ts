/**
 * `--otel` (or the standard `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
 * variables): export each request's span and metrics with the official OTLP/HTTP
 * exporters, for one-off debugging of a server. The SDK and exporters are optional
 * packages, loaded only here and only then; without them `--otel` is a usage error that
 * says what to install (set by the environment alone: a warning, and the command runs).
 * The exporters read the rest of the standard variables themselves (endpoint, headers,
 * timeouts); `OTEL_SERVICE_NAME` names the service (default `tokenwire-cli`).
 */
import { UsageError } from './exit-codes.js';

/** The packages `--otel` needs besides `@opentelemetry/api`. */
export const OTEL_PACKAGES = [
  '@opentelemetry/api',
  '@opentelemetry/sdk-trace-base',
  '@opentelemetry/sdk-metrics',
  '@opentelemetry/resources',
  '@opentelemetry/exporter-trace-otlp-http',
  '@opentelemetry/exporter-metrics-otlp-http',
] as const;

/** Whether OTLP export is asked for: `--otel` before any `--`, or the standard endpoint variables. */
export function otelWanted(argv: readonly string[], env: NodeJS.ProcessEnv): 'flag' | 'env' | undefined {
  for (const arg of argv) {
    if (arg === '--') break;
    if (arg === '--otel') return 'flag';
  }
  if (env.OTEL_SDK_DISABLED === 'true') return undefined;
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return 'env';
  return undefined;
}

/**
 * Registers global tracer and meter providers exporting over OTLP/HTTP (every Client
 * then uses them); resolves to the function that flushes and stops them.
 */
export async function startOtel(): Promise<() => Promise<void>> {
  const missing: string[] = [];
  const load = async <T>(name: string): Promise<T | undefined> => {
    try {
      return (await import(name)) as T;
    } catch {
      missing.push(name);
      return undefined;
    }
  };
  const api = await load<typeof import('@opentelemetry/api')>(OTEL_PACKAGES[0]);
  const trace = await load<typeof import('@opentelemetry/sdk-trace-base')>(OTEL_PACKAGES[1]);
  const metrics = await load<typeof import('@opentelemetry/sdk-metrics')>(OTEL_PACKAGES[2]);
  const resources = await load<typeof import('@opentelemetry/resources')>(OTEL_PACKAGES[3]);
  const traceExporter = await load<typeof import('@opentelemetry/exporter-trace-otlp-http')>(
    OTEL_PACKAGES[4],
  );
  const metricExporter = await load<typeof import('@opentelemetry/exporter-metrics-otlp-http')>(
    OTEL_PACKAGES[5],
  );
  if (!api || !trace || !metrics || !resources || !traceExporter || !metricExporter) {
    throw new UsageError(
      `--otel needs the OpenTelemetry packages, not installed here: ${missing.join(', ')} (npm install ${OTEL_PACKAGES.join(' ')})`,
    );
  }
  const resource = resources.resourceFromAttributes({
    'service.name': process.env.OTEL_SERVICE_NAME || 'tokenwire-cli',
  });
  const tracerProvider = new trace.BasicTracerProvider({
    resource,
    spanProcessors: [new trace.BatchSpanProcessor(new traceExporter.OTLPTraceExporter())],
  });
  const reader = new metrics.PeriodicExportingMetricReader({
    exporter: new metricExporter.OTLPMetricExporter(),
    // One-off commands: the export at shutdown is the one that matters.
    exportIntervalMillis: 60_000,
  });
  const meterProvider = new metrics.MeterProvider({ resource, readers: [reader] });
  api.trace.setGlobalTracerProvider(tracerProvider);
  api.metrics.setGlobalMeterProvider(meterProvider);
  return async () => {
    await Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown()]);
  };
}
