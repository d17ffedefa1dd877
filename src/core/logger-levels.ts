/**
 * Log levels and the `LOG_LEVEL` environment override.
 * @module
 */

import { ConfigError } from "./errors.ts";

/**
 * The six log levels, lowest first. `PROCESS` is the highest: it marks process-level milestones
 * ("epoch 3 done", "job finished") that should show even when only critical errors are shown.
 *
 * @example
 * ```ts
 * new Logger("learner", { stdoutLevel: LogLevel.WARN });
 * ```
 */
export const LogLevel = {
  DEBUG: "DEBUG",
  INFO: "INFO",
  WARN: "WARN",
  ERROR: "ERROR",
  CRITICAL: "CRITICAL",
  PROCESS: "PROCESS",
} as const;

/** One of the names in {@link LogLevel}. */
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];

const SEVERITY: Record<LogLevel, number> = {
  DEBUG: 10,
  INFO: 20,
  WARN: 30,
  ERROR: 40,
  CRITICAL: 50,
  PROCESS: 60,
};

/**
 * Numeric severity of a level (DEBUG 10 … PROCESS 60); a record is shown when its severity is at least
 * the threshold's.
 *
 * @example
 * ```ts
 * levelSeverity("WARN") > levelSeverity("INFO"); // true
 * ```
 */
export function levelSeverity(level: LogLevel): number {
  return SEVERITY[level];
}

/**
 * Parses a level name (case-insensitive, surrounding spaces ignored).
 *
 * @param source - where the value came from, used in the error message (e.g. `"env LOG_LEVEL"`).
 * @throws {@link ConfigError} when the value is not one of the six names.
 * @example
 * ```ts
 * parseLogLevel("warn"); // "WARN"
 * ```
 */
export function parseLogLevel(value: unknown, source = "log level"): LogLevel {
  if (typeof value === "string") {
    const upper = value.trim().toUpperCase();
    if (Object.hasOwn(SEVERITY, upper)) return upper as LogLevel;
  }
  throw new ConfigError(
    `${source} ${JSON.stringify(value)} is not a log level; use one of ${Object.keys(SEVERITY).join(", ")}`,
  );
}

/**
 * The stdout threshold a logger uses: env `LOG_LEVEL` when it is set and not empty, else `configured`.
 * Both are validated, so a typo fails at construction rather than silently logging nothing.
 *
 * @throws {@link ConfigError} when `LOG_LEVEL` or `configured` is not a level name.
 * @example
 * ```ts
 * resolveStdoutLevel("INFO"); // "DEBUG" when LOG_LEVEL=DEBUG is set, else "INFO"
 * ```
 */
export function resolveStdoutLevel(configured: unknown, env: NodeJS.ProcessEnv = process.env): LogLevel {
  const fromOption = parseLogLevel(configured, "stdoutLevel");
  const fromEnv = env.LOG_LEVEL;
  if (fromEnv === undefined || fromEnv.trim() === "") return fromOption;
  return parseLogLevel(fromEnv, "env LOG_LEVEL");
}
