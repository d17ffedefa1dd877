/**
 * proxy: groups of components that discover each other and exchange messages.
 * @module
 */
export * from "./proxy.ts";
export * from "./options.ts";
export * from "./inbox.ts";
export * from "./reply-waiter.ts";
export * from "./rejoin-cache.ts";
export * from "./dist.ts";
export * from "./register-table.ts";
export * from "./conditional-event.ts";
