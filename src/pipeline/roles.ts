/**
 * Roles a node of a pipeline job plays.
 * @module
 */

/**
 * DI-engine's node roles.
 * @example
 * ```ts
 * task.addRole(Role.LEARNER);
 * if (task.hasRole(Role.LEARNER)) task.use(trainer);
 * ```
 */
export const Role = {
  LEARNER: "learner",
  COLLECTOR: "collector",
  EVALUATOR: "evaluator",
  FETCHER: "fetcher",
} as const;

/**
 * One of {@link Role}'s values, or any custom role name.
 * @example
 * ```ts
 * const roles: RoleName[] = [Role.LEARNER, "replay-buffer"];
 * for (const role of roles) task.addRole(role);
 * ```
 */
export type RoleName = (typeof Role)[keyof typeof Role] | (string & {});
