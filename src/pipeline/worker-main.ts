/**
 * Entry of one worker process started by `Parallel.runner`: links into the job, runs the user's `main`,
 * reports failures to the parent over the IPC channel. Not imported by library code.
 * @module
 */
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import type { ParallelOptions } from "./parallel-options.ts";
import { Parallel } from "./parallel.ts";

interface WorkerConfig {
  entry: string;
  router: ParallelOptions;
  autoRecover: boolean;
  maxRetries: number;
}

function report(msg: object): Promise<void> {
  return new Promise((done) => {
    if (process.send === undefined) return done();
    process.send(msg, () => done());
  });
}

const config = JSON.parse(process.env.WEFT_PIPELINE_WORKER ?? "null") as WorkerConfig | null;
if (config === null)
  throw new Error("WEFT_PIPELINE_WORKER is not set; this file is started by Parallel.runner");
const hash = config.entry.lastIndexOf("#");
const file = hash < 0 ? config.entry : config.entry.slice(0, hash);
const exportName = hash < 0 ? "main" : config.entry.slice(hash + 1);
// A worker whose runner is gone (it exited or was killed) can no longer be waited for or reaped, and
// nothing would end it: a task loop waiting for a finish that never comes runs forever. End it instead.
const orphaned = (): void => process.exit(1);
process.once("disconnect", orphaned);
let router: Parallel | undefined;
try {
  const mod = (await import(pathToFileURL(resolve(file)).href)) as Record<string, unknown>;
  const main = mod[exportName];
  if (typeof main !== "function") throw new TypeError(`${file} does not export a function "${exportName}"`);
  router = await Parallel.start(config.router);
  for (let attempt = 0; ; attempt++) {
    try {
      await (main as () => unknown)();
      break;
    } catch (e) {
      if (!config.autoRecover || attempt >= config.maxRetries) throw e;
      await report({ type: "retry", attempt: attempt + 1, message: String(e) });
    }
  }
  await router.close();
  // The listener keeps the IPC channel referenced: drop it so the worker exits once its work is done.
  process.off("disconnect", orphaned);
} catch (e) {
  const err = e instanceof Error ? e : new Error(String(e));
  await report({ type: "error", name: err.name, message: err.message, stack: err.stack ?? "" });
  await router?.close({ flushTimeoutMs: 1000 });
  // A failed main may leave work behind that keeps the process alive (a running task loop, timers);
  // the runner learns of the failure from the exit, so exit now.
  process.exit(1);
}
