/**
 * A process that starts a pipeline job with `Parallel.runner` (entry in `WEFT_TEST_ENTRY`) and is then
 * killed by the test, to check that the job's workers do not outlive it.
 */
import { Parallel } from "../../src/pipeline/index.ts";

await Parallel.runner({ nParallelWorkers: 2 })(process.env.WEFT_TEST_ENTRY ?? "");
