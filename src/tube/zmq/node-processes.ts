/**
 * The node processes of one ZMQRunner session: starting them (or taking them from a pool), following
 * their start-up handshake until every node is bound and ready, and reaping them on close, so that no
 * process outlives its runner.
 * @module
 */
import type { ChildProcess } from "node:child_process";
import { NodeError, TimeoutError } from "../../core/errors.ts";
import { spawnNodeProcess, type NodeProcessPool } from "./pool.ts";
import type { NodeRunnerConfig, SetupMessage, SetupReply } from "./protocol.ts";

/**
 * One process per node, from start to exit. Start-up is a handshake: each process binds its event socket
 * and reports the endpoint (`allBound`), gets every peer's endpoint, then reports `ready` over the
 * control socket once its subscribers are connected (`allReady`).
 * @example
 * ```ts
 * const processes = new NodeProcesses(["a", "b"]);
 * for (const id of ["a", "b"]) processes.start(id, configOf(id), pool, (err) => console.error(err));
 * const timeout = processes.deadline(20_000, "my-tube");
 * await Promise.race([processes.allBound, timeout]);
 * processes.send({ kind: "peers", endpoints: Object.fromEntries(processes.bound) });
 * await Promise.race([processes.allReady, timeout]);
 * processes.clearDeadline();
 * // later, once told to quit:
 * await processes.reap(2000, pool);
 * ```
 */
export class NodeProcesses {
  private readonly children = new Map<string, ChildProcess>();
  private readonly detach = new Map<ChildProcess, () => void>();
  /** Event endpoint each node process bound, by node id. */
  readonly bound = new Map<string, string>();
  private readonly ready = new Set<string>();
  /** Resolves once every node process reported its event endpoint. */
  readonly allBound: Promise<void>;
  /** Resolves once every node process is ready; rejects when one exits during start-up. */
  readonly allReady: Promise<void>;
  private resolveBound!: () => void;
  private resolveReady!: () => void;
  private rejectReady!: (e: unknown) => void;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly nodeIds: readonly string[]) {
    this.allBound = new Promise<void>((res) => (this.resolveBound = res));
    this.allReady = new Promise<void>((res, rej) => {
      this.resolveReady = res;
      this.rejectReady = rej;
    });
    this.allReady.catch(() => {});
  }

  /** Process id of each node process still running. */
  get pids(): Record<string, number> {
    return Object.fromEntries([...this.children].map(([id, c]) => [id, c.pid ?? -1]));
  }

  /**
   * Starts the process of node `id` (from `pool` when given) and sends it its configuration. `onExit`
   * gets a NodeError naming the node if the process exits before it is reaped.
   */
  start(
    id: string,
    config: NodeRunnerConfig,
    pool: NodeProcessPool | undefined,
    onExit: (err: NodeError) => void,
  ): void {
    const child = pool?.acquire() ?? spawnNodeProcess();
    this.children.set(id, child);
    const onMessage = (m: SetupReply): void => {
      if (m.kind !== "bound") return;
      this.bound.set(id, m.endpoint);
      if (this.bound.size === this.nodeIds.length) this.resolveBound();
    };
    const onChildExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      this.children.delete(id);
      this.detach.delete(child);
      onExit(
        new NodeError(`node "${id}" process exited (${signal ?? `code ${code}`})`, {
          nodeId: id,
          originalName: "ProcessExit",
        }),
      );
    };
    child.on("message", onMessage);
    child.on("exit", onChildExit);
    this.detach.set(child, () => {
      child.off("message", onMessage);
      child.off("exit", onChildExit);
    });
    child.send({ kind: "start", config } satisfies SetupMessage);
  }

  /** Notes that node `id` reported `ready` on the control socket. */
  markReady(id: string): void {
    this.ready.add(id);
    if (this.ready.size === this.nodeIds.length) this.resolveReady();
  }

  /** Fails the start-up with `err` (a node process exited before every node was ready). */
  abort(err: unknown): void {
    this.rejectReady(err);
  }

  /** Rejects with a TimeoutError naming the ready nodes unless start-up ends within `ms`. */
  deadline(ms: number, tubeId: string): Promise<never> {
    return new Promise<never>((_, rej) => {
      this.timer = setTimeout(
        () =>
          rej(
            new TimeoutError(
              `tube ${tubeId}: node processes not ready within ${ms} ms (ready: ${[...this.ready].join(", ") || "none"})`,
            ),
          ),
        ms,
      );
    });
  }

  /** Stops the start-up deadline. */
  clearDeadline(): void {
    clearTimeout(this.timer);
  }

  /** Sends a setup message to every node process. */
  send(m: SetupMessage): void {
    for (const child of this.children.values()) child.send(m);
  }

  /**
   * Waits for every process to end its session once told to quit: a pooled process that reports `idle`
   * goes back to `pool` (when given), any other is ended; one still running after `quitMs` is killed.
   */
  async reap(quitMs: number, pool: NodeProcessPool | undefined): Promise<void> {
    const children = [...this.children.values()];
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            this.detach.get(c)?.();
            this.detach.delete(c);
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            const done = (): void => {
              clearTimeout(t);
              c.off("exit", onExit);
              c.off("message", onIdle);
              resolve();
            };
            const t = setTimeout(() => {
              c.kill("SIGKILL");
            }, quitMs);
            const onExit = (): void => done();
            // A pooled process that ended its session cleanly goes back to the pool; any other is ended.
            const onIdle = (m: SetupReply): void => {
              if (m.kind !== "idle") return;
              done();
              if (pool) pool.release(c);
              else c.kill("SIGKILL");
            };
            c.on("exit", onExit);
            c.on("message", onIdle);
          }),
      ),
    );
    this.children.clear();
  }
}
