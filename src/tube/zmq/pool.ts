/**
 * Node processes for the ZMQRunner: spawning, and an optional pool that keeps idle node processes warm so
 * that runners started one after another (tests, many short jobs) skip the process start-up cost.
 * @module
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("./node-runner.ts", import.meta.url));

/** Starts one node runner process; it waits for its configuration on the IPC channel. */
export function spawnNodeProcess(): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", SCRIPT], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
}

function alive(c: ChildProcess): boolean {
  return c.exitCode === null && c.signalCode === null && c.connected;
}

/**
 * Idle node processes shared by ZMQRunners (pass it as the `pool` option). A runner takes processes on
 * `init` and gives the healthy ones back on `deinit`; a process that failed or did not quit in time is
 * killed instead. Each process loads a fresh tube per runner, but module-level state of node modules
 * survives between runners (as it would in one long-lived process). Idle processes do not keep the
 * caller alive; `close()` ends them.
 * @example
 * ```ts
 * const pool = new NodeProcessPool();
 * try {
 *   for (const spec of specs) {
 *     await using runner = new ZMQRunner(await Tube.fromSpecification(spec), { pool });
 *     await runner.run(10);
 *   }
 * } finally {
 *   await pool.close();
 * }
 * ```
 */
export class NodeProcessPool {
  private readonly idle: ChildProcess[] = [];
  private closed = false;
  private readonly watched = new WeakSet<ChildProcess>();

  /** Number of idle processes. */
  get size(): number {
    return this.idle.length;
  }

  /** Process ids of the idle processes. */
  get pids(): number[] {
    return this.idle.map((c) => c.pid ?? -1);
  }

  /** Starts `n` processes ahead of time so that the next runners find them ready. */
  prewarm(n: number): void {
    for (let i = 0; i < n; i++) this.release(spawnNodeProcess());
  }

  /** An idle process, or a new one. */
  acquire(): ChildProcess {
    while (this.idle.length > 0) {
      const c = this.idle.shift()!;
      if (!alive(c)) continue;
      c.ref();
      (c.channel as { ref?: () => void } | undefined)?.ref?.();
      return c;
    }
    return spawnNodeProcess();
  }

  /** Gives a process that has quit its session back to the pool (or ends it once the pool is closed). */
  release(c: ChildProcess): void {
    if (!alive(c)) return;
    if (this.closed) {
      c.kill("SIGKILL");
      return;
    }
    c.unref();
    (c.channel as { unref?: () => void } | undefined)?.unref?.();
    if (!this.watched.has(c)) {
      this.watched.add(c);
      c.once("exit", () => {
        const i = this.idle.indexOf(c);
        if (i >= 0) this.idle.splice(i, 1);
      });
    }
    this.idle.push(c);
  }

  /** Ends every idle process and waits for them to exit. */
  async close(): Promise<void> {
    this.closed = true;
    const all = this.idle.splice(0);
    await Promise.all(
      all.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once("exit", () => resolve());
            c.kill("SIGKILL");
          }),
      ),
    );
  }
}
