/**
 * Entry point of a module component started by `weft launch`: imports the module named in
 * `WEFT_ENTRY`, calls its exported function with a {@link JobContext}, reports metrics to the launcher
 * over the IPC channel, and exits with 0 when the function resolves, 1 when it throws.
 *
 * It is a process entry point (not library code), so it ends the process itself. It also exits when the
 * launcher disappears (the IPC channel closes), so a killed launcher leaves no component behind.
 * @module
 */
import { flushAllLogs } from "../core/logger.ts";
import { ProxyMetrics } from "../observability/proxy-metrics.ts";
import type { Proxy } from "../proxy/proxy.ts";
import { jobContextFromEnv, type JobContext } from "./context.ts";
import { JOB_ENV } from "./env.ts";

const controller = new AbortController();
const proxies = new Set<Proxy>();
const intervalMs = Number(process.env[JOB_ENV.metricsIntervalMs] ?? "0");
const metrics = intervalMs > 0 && process.send ? new ProxyMetrics() : undefined;
let reportTimer: NodeJS.Timeout | undefined;

async function report(): Promise<void> {
  if (!metrics || !process.connected) return;
  metrics.collect();
  const snapshot = await metrics.registry.getMetricsAsJSON();
  await new Promise<void>((resolve) => {
    if (!process.connected) return resolve();
    process.send!({ weft: "metrics", metrics: snapshot }, undefined, {}, () => resolve());
  });
}

async function closeProxies(): Promise<void> {
  await Promise.all([...proxies].map((p) => p.close().catch(() => {})));
}

async function finish(code: number): Promise<never> {
  if (reportTimer) clearInterval(reportTimer);
  await report().catch(() => {});
  await closeProxies();
  await flushAllLogs().catch(() => {});
  process.exit(code);
}

function stopSoon(why: string): void {
  if (controller.signal.aborted) return;
  controller.abort(new Error(why));
  // Give main a moment to return on its own, then close its proxies so pending calls end, then go.
  setTimeout(() => void closeProxies(), 200).unref();
  setTimeout(() => void finish(why === "SIGINT" ? 130 : 143), 1500).unref();
}

process.on("SIGTERM", () => stopSoon("SIGTERM"));
process.on("SIGINT", () => stopSoon("SIGINT"));
process.on("disconnect", () => stopSoon("SIGTERM"));

async function run(): Promise<void> {
  const entry = process.env[JOB_ENV.entry];
  if (!entry) throw new Error(`${JOB_ENV.entry} is not set: start this program with "weft launch JOB.yaml"`);
  const hash = entry.lastIndexOf("#");
  const url = hash < 0 ? entry : entry.slice(0, hash);
  const exportName = hash < 0 ? "main" : entry.slice(hash + 1);
  const ctx: JobContext = jobContextFromEnv(process.env, controller.signal, {
    onProxy(proxy) {
      proxies.add(proxy);
      metrics?.track(proxy);
    },
  });
  const mod = (await import(url)) as Record<string, unknown>;
  const fn = mod[exportName];
  if (typeof fn !== "function") {
    throw new Error(
      `${url} has no exported function "${exportName}" (exports: ${Object.keys(mod).join(", ") || "none"})`,
    );
  }
  if (metrics) {
    reportTimer = setInterval(() => void report().catch(() => {}), intervalMs);
    reportTimer.unref();
  }
  await (fn as (ctx: JobContext) => unknown)(ctx);
}

run().then(
  () => finish(0),
  (err: unknown) => {
    if (controller.signal.aborted) return finish(143);
    const e = err as Error;
    process.stderr.write(`${e?.stack ?? String(err)}\n`);
    return finish(1);
  },
);
