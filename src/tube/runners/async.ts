/**
 * AsyncRunner: every ready node call starts at once, up to a concurrency bound; stateful nodes still
 * process their epochs (and sub-epochs) in order.
 * @module
 */
import type { Tube } from "../tube.ts";
import { InProcessRunner, type RunnerOptions } from "./base.ts";

/**
 * Options of {@link AsyncRunner}.
 * @example
 * ```ts
 * const options: AsyncRunnerOptions = { maxConcurrency: 8, metrics: true };
 * await using runner = new AsyncRunner(tube, options);
 * ```
 */
export interface AsyncRunnerOptions extends RunnerOptions {
  /** Most node calls in flight at once. Default: 64. */
  maxConcurrency?: number;
}

/**
 * Runs a tube in this process with ready async nodes running concurrently.
 * @example
 * ```ts
 * await using runner = new AsyncRunner(tube, { maxConcurrency: 8 });
 * await runner.process({ url: "https://example.org" });
 * ```
 */
export class AsyncRunner extends InProcessRunner {
  constructor(tube: Tube, options: AsyncRunnerOptions = {}) {
    super(tube, options, options.maxConcurrency ?? 64);
  }
}
