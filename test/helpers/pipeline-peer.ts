/**
 * A pipeline node in its own process for the router tests: links into the job given in
 * `WEFT_TEST_ROUTER` (JSON ParallelOptions), tells the parent it is ready, then waits to be killed.
 */
import { Parallel, type ParallelOptions } from "../../src/pipeline/index.ts";

const options = JSON.parse(process.env.WEFT_TEST_ROUTER ?? "null") as ParallelOptions;
await Parallel.start(options);
process.send?.("ready");
// Keep the process alive until the test kills it.
setInterval(() => undefined, 60_000);
