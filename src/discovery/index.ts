/**
 * Discovery: registries through which the members of a group find each other.
 * @module
 */
export * from "./registry.ts";
export * from "./local-registry.ts";
export * from "./redis-registry.ts";
export * from "./static-registry.ts";
export * from "./create-registry.ts";
