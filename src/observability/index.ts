/**
 * Metrics (prom-client): proxy counters and histograms, job-wide aggregation, the `/metrics` server.
 * @module
 */
export {
  ProxyMetrics,
  type MeasuredProxy,
  type ProxyMetricsOptions,
  type ProxyStatsLike,
} from "./proxy-metrics.ts";
export { JobMetrics, type MetricsSnapshot } from "./job-metrics.ts";
export { serveMetrics, type MetricsServer, type MetricsServerOptions } from "./metrics-server.ts";
