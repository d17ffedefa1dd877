/**
 * The master–worker example: a master scatters slices of a Float64Array to N worker processes, each
 * worker sums its slice, and the master adds up the replies. Every round checks the total against the
 * closed form, so the example proves itself.
 *
 * Run: `node --import tsx examples/master-worker/main.ts [--workers 3] [--size 1000000] [--rounds 5]`
 *
 * The workers are child processes started here; they find the master through the default local registry
 * (nothing to install) and talk to it over TCP loopback.
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { SessionType } from "../../src/core/message.ts";
import { Proxy } from "../../src/proxy/proxy.ts";

const WORKER = fileURLToPath(new URL("./worker.ts", import.meta.url));

/** Options of {@link runMaster}. */
export interface MasterOptions {
  /** Number of worker processes. Default 3. */
  workers?: number;
  /** Length of the array summed each round. Default 1 000 000. */
  size?: number;
  /** Rounds of scatter/gather. Default 5. */
  rounds?: number;
  /** Deadline of one round, in ms. Default 30 000. */
  roundTimeoutMs?: number;
}

/** Sum of round `r`: the data is `r, 2r, …, size·r`. */
export function expectedRoundSum(size: number, round: number): number {
  return (round * size * (size + 1)) / 2;
}

function startWorker(group: string, name: string): ChildProcess {
  return fork(WORKER, [group, name], { execArgv: ["--import", "tsx"], stdio: "inherit" });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/**
 * Starts the workers, runs the rounds, stops the workers. Resolves to the grand total.
 * @example
 * ```ts
 * const total = await runMaster({ workers: 2, size: 1000, rounds: 1 }); // 500500
 * ```
 */
export async function runMaster(options: MasterOptions = {}): Promise<number> {
  const workers = options.workers ?? 3;
  const size = options.size ?? 1_000_000;
  const rounds = options.rounds ?? 5;
  const group = `master-worker-${process.pid}-${Date.now()}`;
  const names = Array.from({ length: workers }, (_, i) => `worker.${i}`);
  const children = names.map((name) => startWorker(group, name));
  try {
    await using proxy = await Proxy.create({
      groupName: group,
      componentType: "master",
      componentName: "master",
      expectedPeers: { worker: workers },
    });
    console.log(`master: ${workers} workers joined (${proxy.peersName.worker?.join(", ")})`);
    let total = 0;
    for (let round = 1; round <= rounds; round++) {
      const data = new Float64Array(size);
      for (let i = 0; i < size; i++) data[i] = (i + 1) * round;
      // One contiguous slice per worker; subarray views travel as their own frames, without a copy.
      const step = Math.ceil(size / workers);
      const work: [string, Float64Array][] = names.map((name, i) => [
        name,
        data.subarray(i * step, Math.min(size, (i + 1) * step)),
      ]);
      const t0 = performance.now();
      const replies = await proxy.scatter("sum", SessionType.TASK, work, {
        timeoutMs: options.roundTimeoutMs ?? 30_000,
      });
      const sum = replies.reduce((acc, r) => acc + (r.payload as number), 0);
      const expected = expectedRoundSum(size, round);
      const ms = (performance.now() - t0).toFixed(1);
      console.log(`round ${round}: sum=${sum} expected=${expected} (${replies.length} replies, ${ms} ms)`);
      if (sum !== expected) throw new Error(`round ${round}: sum ${sum} differs from ${expected}`);
      total += sum;
    }
    await proxy.ibroadcast("worker", "stop", SessionType.NOTIFICATION);
    // Leave first (close flushes the broadcast), so the workers' departure is not reported as a failure.
    await proxy.close();
    await Promise.all(children.map(exited));
    console.log(`total=${total}`);
    return total;
  } finally {
    // Whatever happened, no worker outlives the master.
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGTERM");
    await Promise.all(children.map(exited));
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      workers: { type: "string", default: "3" },
      size: { type: "string", default: "1000000" },
      rounds: { type: "string", default: "5" },
    },
  });
  const int = (name: string, v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${v}`);
    return n;
  };
  await runMaster({
    workers: int("workers", values.workers),
    size: int("size", values.size),
    rounds: int("rounds", values.rounds),
  });
}
