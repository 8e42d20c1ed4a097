import type { GatehouseConfig } from './config.js';
import type { VariableName, VariableValue } from './variables.js';

type Read = <N extends VariableName>(name: N) => VariableValue<N> | undefined;

/** /metrics access and trace export from METRICS_* and the standard OTEL_* variables. */
export function observabilitySettings(read: Read, problems: string[]): GatehouseConfig['observability'] {
  const metricsPort = read('METRICS_PORT');
  const tracesUrl = read('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const baseUrl = read('OTEL_EXPORTER_OTLP_ENDPOINT');
  const exporter = read('OTEL_TRACES_EXPORTER') ?? 'otlp';
  const url = tracesUrl ?? (baseUrl === undefined ? undefined : `${baseUrl.replace(/\/+$/, '')}/v1/traces`);
  const headers = parseHeaders(read('OTEL_EXPORTER_OTLP_HEADERS'), problems);
  return {
    metricsToken: read('METRICS_TOKEN'),
    metricsListener:
      metricsPort === undefined
        ? undefined
        : { host: read('METRICS_HOST') ?? '127.0.0.1', port: metricsPort },
    traces:
      url === undefined || exporter === 'none'
        ? undefined
        : { url, headers, serviceName: read('OTEL_SERVICE_NAME') ?? 'gatehouse' },
  };
}

function parseHeaders(raw: string | undefined, problems: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  if (raw === undefined) return headers;
  for (const pair of raw.split(',')) {
    const at = pair.indexOf('=');
    const name = pair.slice(0, at).trim();
    if (at <= 0 || name === '') {
      problems.push(
        `OTEL_EXPORTER_OTLP_HEADERS: '${pair.trim()}' is not key=value: write the headers as key1=value1,key2=value2.`,
      );
      continue;
    }
    headers[decodeURIComponent(name)] = decodeURIComponent(pair.slice(at + 1).trim());
  }
  return headers;
}
