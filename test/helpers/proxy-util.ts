// Shared helpers of the proxy and discovery tests: unique names, waits with deadlines, child workers.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import type { ProxyOptions } from "../../src/proxy/index.ts";

export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

/** A group name / key prefix no other test uses. */
export function uniqueName(label: string): string {
  return `${label}-${process.pid}-${randomBytes(4).toString("hex")}`;
}

/** Resolves once `condition()` is true; rejects when `timeoutMs` passes first. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A TCP port nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A worker child process (test/helpers/proxy-worker.ts) and its stdout lines. */
export class WorkerProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  private readonly listeners = new Set<() => void>();
  readonly exited: Promise<number | null>;

  constructor(options: Omit<ProxyOptions, "logger">) {
    const script = fileURLToPath(new URL("./proxy-worker.ts", import.meta.url));
    this.child = spawn(process.execPath, ["--import", "tsx", script, JSON.stringify(options)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let rest = "";
    this.child.stdout!.on("data", (chunk: Buffer) => {
      rest += chunk.toString();
      const parts = rest.split("\n");
      rest = parts.pop() ?? "";
      this.lines.push(...parts);
      for (const l of [...this.listeners]) l();
    });
    this.exited = new Promise((resolve) => this.child.once("exit", (code) => resolve(code)));
  }

  /** Resolves with the first line matching `predicate` (already printed or future). */
  waitLine(predicate: (line: string) => boolean, timeoutMs = 20_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const line = this.lines.find(predicate);
        if (line !== undefined) {
          cleanup();
          resolve(line);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no matching line within ${timeoutMs} ms; got: ${this.lines.join(" | ")}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  ready(timeoutMs = 20_000): Promise<string> {
    return this.waitLine((l) => l.startsWith("ready "), timeoutMs);
  }

  /** Kills the process (SIGKILL by default) and waits for it to exit. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    await this.exited;
  }
}
