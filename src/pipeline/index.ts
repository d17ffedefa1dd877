/**
 * pipeline: DI-engine-style training loop (Task, Context, events) and the router between the nodes of a job.
 * @module
 */
export * from "./context.ts";
export * from "./event-loop.ts";
export * from "./glob.ts";
export * from "./lock.ts";
export * from "./middleware.ts";
export * from "./roles.ts";
export * from "./router-link.ts";
export * from "./task.ts";
export * from "./task-options.ts";
export * from "./parallel.ts";
export * from "./parallel-options.ts";
export * from "./launcher.ts";
export * from "./cluster-env.ts";
export * from "./topology.ts";
