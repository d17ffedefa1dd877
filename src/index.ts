/**
 * weft: distributed machine-learning and reinforcement-learning runtime for TypeScript.
 *
 * This module only re-exports the public surface of each part.
 * @module
 */
export * from "./core/errors.ts";
export * from "./core/ids.ts";
export * from "./core/message.ts";
export * from "./core/codec.ts";
export * from "./core/logger.ts";
export * from "./core/utils.ts";
export * from "./transport/addresses.ts";
export * from "./transport/curve.ts";
export * from "./transport/driver.ts";
export * from "./transport/socket-reader.ts";
export * from "./transport/socket-writer.ts";
export * from "./discovery/index.ts";
export * from "./proxy/index.ts";
export * from "./pipeline/index.ts";
export * from "./tube/index.ts";
export * from "./federated/index.ts";
export * from "./launch/index.ts";
export * from "./observability/index.ts";
// Two parts name their runner options alike: the pipeline launcher keeps the short name.
export type { RunnerOptions } from "./pipeline/index.ts";
export type { RunnerOptions as TubeRunnerOptions } from "./tube/index.ts";
