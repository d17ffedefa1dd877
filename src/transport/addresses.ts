/**
 * Where sockets live: the per-user runtime directory for `ipc://` paths, and the endpoints to bind.
 * @module
 */
import { chmodSync, mkdirSync, statSync, unlinkSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { ConfigError, SocketTypeError } from "../core/errors.ts";

/**
 * Transport protocols weft binds.
 * @example
 * ```ts
 * const protocol: Protocol = "ipc";
 * const endpoint = bindEndpoint({ protocol, label: "inbox" });
 * ```
 */
export type Protocol = "tcp" | "ipc";

/**
 * The per-user runtime directory (mode 0700), created on first use. `WEFT_RUNTIME_DIR` overrides it.
 * @example
 * ```ts
 * runtimeDir(); // "/tmp/weft-1000"
 * ```
 */
export function runtimeDir(): string {
  const dir = process.env.WEFT_RUNTIME_DIR ?? join(tmpdir(), `weft-${userInfo().uid}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  if (typeof process.getuid === "function" && st.uid !== process.getuid()) {
    throw new ConfigError(
      `runtime directory ${dir} belongs to another user; set WEFT_RUNTIME_DIR to a private directory`,
    );
  }
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
  return dir;
}

/**
 * A fresh `ipc://` endpoint inside the runtime directory. Paths stay short (Unix socket paths are limited
 * to about 107 bytes).
 * @example
 * ```ts
 * const endpoint = newIpcEndpoint("inbox"); // "ipc:///tmp/weft-1000/s/inbox-3f2a9c1b5d7e.sock"
 * ```
 */
export function newIpcEndpoint(label: string): string {
  const dir = join(runtimeDir(), "s");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const safe = label.replace(/[^a-zA-Z0-9_-]/g, "_").slice(0, 24);
  const path = join(dir, `${safe}-${randomBytes(6).toString("hex")}.sock`);
  if (Buffer.byteLength(path) > 100) {
    throw new ConfigError(
      `ipc path ${path} is too long for a Unix socket; set WEFT_RUNTIME_DIR to a shorter directory`,
    );
  }
  return `ipc://${path}`;
}

/**
 * Options of {@link bindEndpoint}.
 * @example
 * ```ts
 * const options: BindOptions = { protocol: "tcp", host: "0.0.0.0", port: 5555 };
 * bindEndpoint(options); // "tcp://0.0.0.0:5555"
 * ```
 */
export interface BindOptions {
  /** `"tcp"` (default) or `"ipc"`. */
  protocol?: Protocol;
  /** Interface to bind for TCP. Default `"127.0.0.1"` (loopback only). */
  host?: string;
  /** TCP port. Default 0 (an ephemeral port chosen by the OS). */
  port?: number;
  /** Label used in the ipc file name. */
  label?: string;
}

/**
 * The endpoint string to pass to `socket.bind()`.
 * @example
 * ```ts
 * await socket.bind(bindEndpoint({ protocol: "tcp" })); // "tcp://127.0.0.1:0"
 * ```
 */
export function bindEndpoint(options: BindOptions = {}): string {
  const protocol = options.protocol ?? "tcp";
  if (protocol === "ipc") return newIpcEndpoint(options.label ?? "sock");
  if (protocol !== "tcp") {
    throw new SocketTypeError(`protocol ${JSON.stringify(protocol)} is not supported; use "tcp" or "ipc"`);
  }
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`port ${String(port)} is not a valid TCP port (0–65535; 0 picks a free one)`);
  }
  return `tcp://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/**
 * True when `host` is a loopback address (127.0.0.0/8, ::1, localhost).
 * @example
 * ```ts
 * isLoopbackHost("127.0.0.1"); // true
 * isLoopbackHost("10.0.0.5"); // false
 * ```
 */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

/**
 * Removes the socket file of an `ipc://` endpoint, ignoring a missing file.
 * @example
 * ```ts
 * const endpoint = newIpcEndpoint("inbox");
 * await pull.bind(endpoint);
 * pull.close();
 * removeIpcFile(endpoint);
 * ```
 */
export function removeIpcFile(endpoint: string): void {
  if (!endpoint.startsWith("ipc://")) return;
  try {
    unlinkSync(endpoint.slice("ipc://".length));
  } catch {
    // Already gone: ZeroMQ may remove it on close.
  }
}
