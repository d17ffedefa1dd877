/**
 * A tiny HTTP server for `GET /metrics` (Prometheus text format).
 * @module
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { ConfigError } from "../core/errors.ts";

/**
 * Options of {@link serveMetrics}.
 * @example
 * ```ts
 * await serveMetrics({ port: 0, host: "0.0.0.0", render: () => registry.metrics() });
 * ```
 */
export interface MetricsServerOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Interface to listen on. Default `127.0.0.1` (metrics stay on this machine unless asked). */
  host?: string;
  /** Produces the page. */
  render: () => Promise<string>;
  /** Content type of the page. Default Prometheus text 0.0.4. */
  contentType?: string;
}

/**
 * A running metrics server.
 * @example
 * ```ts
 * const server = await serveMetrics({ port: 0, render: () => registry.metrics() });
 * console.log(`scrape ${server.url}`); // http://127.0.0.1:<port>/metrics
 * await server.close();
 * ```
 */
export interface MetricsServer {
  /** The port actually bound. */
  readonly port: number;
  /** `http://host:port/metrics`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics`; any other path answers 404.
 * @throws {ConfigError} when the port cannot be bound (in use, no permission).
 * @example
 * ```ts
 * const server = await serveMetrics({ port: 9464, render: () => registry.metrics() });
 * await server.close();
 * ```
 */
export async function serveMetrics(options: MetricsServerOptions): Promise<MetricsServer> {
  const host = options.host ?? "127.0.0.1";
  const contentType = options.contentType ?? "text/plain; version=0.0.4; charset=utf-8";
  const server = createServer((req, res) => {
    if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found; try /metrics\n");
      return;
    }
    options.render().then(
      (text) => res.writeHead(200, { "content-type": contentType }).end(text),
      (err: unknown) => res.writeHead(500, { "content-type": "text/plain" }).end(`${String(err)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        new ConfigError(
          `cannot serve metrics on ${host}:${options.port}: ${err.code ?? err.message}; choose another --metrics-port`,
          { cause: err },
        ),
      ),
    );
    server.listen(options.port, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
