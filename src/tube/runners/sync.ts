/**
 * SynchronousRunner: one epoch at a time, one node call at a time, in scheduler order.
 * @module
 */
import type { Tube } from "../tube.ts";
import { InProcessRunner, type RunnerOptions } from "./base.ts";

/**
 * Runs a tube in this process, one node at a time (async nodes are awaited in turn).
 * @example
 * ```ts
 * const runner = new SynchronousRunner(await Tube.fromSpecification("./count.yaml"));
 * console.log(await runner.run(5));
 * await runner.deinit();
 * ```
 */
export class SynchronousRunner extends InProcessRunner {
  constructor(tube: Tube, options: RunnerOptions = {}) {
    super(tube, options, 1);
  }
}
