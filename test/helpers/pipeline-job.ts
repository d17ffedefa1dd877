/**
 * Entries run by the pipeline launcher tests in worker processes.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { task } from "../../src/pipeline/index.ts";

/** Every node says hello; node 0 waits for all, then stops, which finishes the others. */
export async function main(): Promise<void> {
  task.start();
  const id = task.router?.nodeId ?? -1;
  if (id === 0) {
    const seen = new Set<number>();
    const all = new Promise<void>((resolve) =>
      task.on("hello", (from: number) => {
        seen.add(from);
        if (seen.size === 2) resolve();
      }),
    );
    await all;
    await task.stop();
    return;
  }
  task.emit("hello", id);
  task.use(() => new Promise((r) => setImmediate(r)));
  await task.run();
  await task.stop();
}

/** Node 1 throws. */
export async function crash(): Promise<void> {
  task.start();
  const id = task.router?.nodeId;
  await task.stop();
  if (id === 1) throw new RangeError("worker exploded");
}

let attempts = 0;
/** Node 1 fails once, then (re-run by autoRecover) sends a message to node 0. */
export async function recover(): Promise<void> {
  task.start();
  const id = task.router?.nodeId;
  if (id === 1) {
    attempts++;
    if (attempts === 1) {
      await task.stop();
      throw new Error("first attempt fails");
    }
    task.emit("recovered", attempts);
    await task.stop();
    return;
  }
  const got = await task.waitFor("recovered", { timeoutMs: 20_000 });
  if (got?.[0] !== 2) throw new Error(`unexpected ${String(got?.[0])}`);
  await task.stop();
}

const SMALL = 100_000;
const BIG = 2_000;
/** Node 0 sends 100 000 small and 2 000 140 KiB events; node 1 checks every one arrived, in order. */
export async function burst(): Promise<void> {
  task.start();
  const id = task.router?.nodeId;
  if (id === 0) {
    const done = task.waitFor("received", { timeoutMs: 60_000 });
    await task.waitFor("ready", { timeoutMs: 20_000 });
    for (let i = 0; i < SMALL; i++) task.emit("small", i);
    for (let i = 0; i < BIG; i++) {
      // A fresh array per event: payloads travel zero-copy, so one must not be changed after emit.
      const payload = new Float32Array((140 * 1024) / 4);
      payload[0] = i;
      task.emit("big", payload);
    }
    const got = await done;
    await task.stop();
    if (got?.[0] !== SMALL || got[1] !== BIG) throw new Error(`delivered ${String(got)}`);
    return;
  }
  let small = 0;
  let big = 0;
  let ok = true;
  task.on("small", (i: number) => {
    if (i !== small) ok = false;
    small++;
  });
  await new Promise<void>((resolve) => {
    task.on("big", (p: Float32Array) => {
      if (p[0] !== big || p.length !== (140 * 1024) / 4) ok = false;
      big++;
      if (big === BIG) resolve();
    });
    task.emit("ready");
  });
  if (!ok) throw new Error("events out of order or corrupted");
  task.emit("received", small, big);
  await task.waitFor("finish", { timeoutMs: 20_000 });
  await task.stop();
}

/**
 * Mesh + alone test. Nodes 0, 1 form a mesh; alone nodes 2, 3 attach to both mesh nodes, not to each
 * other. Every node greets its linked nodes (answering each new greeting, so late starters are greeted
 * too) until it heard from `WEFT_TEST_EXPECT_LINKS` of them, and checks that it is linked to exactly that
 * many. Then it announces itself ready; the set of ready nodes is gossiped (a node re-sends it whenever it
 * grows), which carries it across the mesh to the alone node it is not linked to. Once all four are
 * ready, node 3 stops: that must finish every node, relayed through the mesh to node 2.
 */
export async function attached(): Promise<void> {
  task.start();
  const router = task.router;
  const id = router?.nodeId ?? -1;
  const expect = Number(process.env.WEFT_TEST_EXPECT_LINKS ?? "0");
  const NODES = 4;
  const greeted = new Set<number>();
  const ready = new Set<number>();
  const linked = new Promise<void>((resolve) => {
    task.on("hello", (from: number) => {
      if (from === id || greeted.has(from)) return;
      greeted.add(from);
      task.emitRemote("hello", id);
      if (greeted.size === expect) resolve();
    });
  });
  const allReady = new Promise<void>((resolve) => {
    task.on("ready", (ids: number[]) => {
      const before = ready.size;
      for (const i of ids) ready.add(i);
      if (ready.size > before) task.emitRemote("ready", [...ready]);
      if (ready.size === NODES) resolve();
    });
  });
  task.emitRemote("hello", id);
  await withDeadline(linked, 20_000, `node ${id} heard only from ${[...greeted].join(",")}`);
  const links = router?.getAttachToLen();
  if (links !== expect) throw new Error(`node ${id} is linked to ${links} nodes, expected ${expect}`);
  task.emitLocal("ready", [id]);
  await withDeadline(allReady, 20_000, `node ${id} knows only ${[...ready].join(",")} as ready`);
  if (id === 3) {
    await task.stop();
    return;
  }
  task.use(() => new Promise((r) => setImmediate(r)));
  await withDeadline(task.run(), 20_000, `node ${id} did not finish`);
  if (!task.finish) throw new Error(`node ${id} ended without finish`);
  await task.stop();
}

async function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(what)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Node 1 leaves its task loop running and fails; node 0 waits for a finish that does not come. */
export async function failWhileRunning(): Promise<void> {
  task.start();
  task.use(() => new Promise((r) => setImmediate(r)));
  const running = task.run();
  if (task.router?.nodeId === 1) {
    running.catch(() => undefined);
    throw new Error("failed with the loop still running");
  }
  await running;
}

/** Every node writes its pid to `WEFT_TEST_PID_DIR/<node id>` and then runs until it is told to finish. */
export async function forever(): Promise<void> {
  task.start();
  const dir = process.env.WEFT_TEST_PID_DIR;
  if (dir === undefined) throw new Error("WEFT_TEST_PID_DIR is not set");
  writeFileSync(join(dir, String(task.router?.nodeId)), String(process.pid));
  task.use(() => new Promise((r) => setImmediate(r)));
  await task.run();
  await task.stop();
}
