/**
 * Log line formats: which fields a record shows, on stdout and in the dump file.
 * @module
 */

import { hostname, userInfo } from "node:os";
import { formatWithOptions, inspect } from "node:util";
import type { LogLevel } from "./logger-levels.ts";

/**
 * How a logger lays out its lines. Text formats separate fields with `" | "`; times are ISO 8601 UTC.
 *
 * | format | fields |
 * | --- | --- |
 * | `full` | time, host, user, pid, tag, level, msg |
 * | `simple` | time, tag, level, msg |
 * | `internal` | time, component, level, msg |
 * | `cli_debug` | time, level, msg |
 * | `cli_info` | the bare msg on stdout (the dump file gets `cli_debug` lines, so it keeps times and levels) |
 * | `none` | nothing, neither on stdout nor in a file |
 * | `json` | one JSON object per line with keys time, host, user, pid, tag, level, msg |
 *
 * @example
 * ```ts
 * const log = new Logger("learner", { format: LogFormat.full });
 * log.info("step %d", 3); // 2026-01-02T03:04:05.678Z | host1 | alice | 4242 | learner | INFO | step 3
 * ```
 */
export enum LogFormat {
  full = 1,
  simple = 2,
  internal = 3,
  cli_debug = 4,
  cli_info = 5,
  none = 6,
  json = 7,
}

/**
 * One log record before layout.
 * @example
 * ```ts
 * const record: LogRecord = { time: Date.now(), level: "INFO", tag: "learner", msg: "step 10" };
 * ```
 */
export interface LogRecord {
  /** Milliseconds since the epoch. */
  time: number;
  level: LogLevel;
  /** Logger tag (the component name for internal loggers). */
  tag: string;
  /** The message with its extra arguments already substituted. */
  msg: string;
}

/**
 * Lines of one record: `file` for the dump file, `stdout` for the terminal; `undefined` means none.
 * @example
 * ```ts
 * const lines: FormattedRecord = { file: "…full line…", stdout: undefined }; // written to the file only
 * ```
 */
export interface FormattedRecord {
  file: string | undefined;
  stdout: string | undefined;
}

const SEP = " | ";

let identity: { host: string; user: string } | undefined;

// Host and user never change during a run; looking them up once keeps them off the hot path.
function processIdentity(): { host: string; user: string } {
  if (identity === undefined) {
    let user: string;
    try {
      user = userInfo().username;
    } catch {
      // userInfo() throws when the uid has no passwd entry (common in containers).
      user = process.env.USER ?? process.env.USERNAME ?? String(process.getuid?.() ?? "unknown");
    }
    identity = { host: hostname(), user };
  }
  return identity;
}

const INSPECT_OPTIONS = { colors: false, depth: 6, breakLength: Infinity } as const;

/**
 * Builds the message text: printf-like substitution (`%s %d %i %f %j %o %O %%`) as `util.format` does,
 * remaining arguments appended after a space, errors shown with their stack and cause.
 *
 * @example
 * ```ts
 * formatMessage("peer %s left", ["worker.1"]); // "peer worker.1 left"
 * ```
 */
export function formatMessage(msg: unknown, args: readonly unknown[]): string {
  if (args.length === 0) {
    // Fast path for the common case; util.format with no arguments returns a string unchanged too.
    return typeof msg === "string" ? msg : inspect(msg, INSPECT_OPTIONS);
  }
  if (typeof msg !== "string") return formatWithOptions(INSPECT_OPTIONS, "%O", msg, ...args);
  return formatWithOptions(INSPECT_OPTIONS, msg, ...args);
}

function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

function jsonLine(record: LogRecord): string {
  const { host, user } = processIdentity();
  return JSON.stringify({
    time: isoTime(record.time),
    host,
    user,
    pid: process.pid,
    tag: record.tag,
    level: record.level,
    msg: record.msg,
  });
}

function textLine(format: LogFormat, record: LogRecord): string {
  const time = isoTime(record.time);
  switch (format) {
    case LogFormat.full: {
      const { host, user } = processIdentity();
      return [time, host, user, process.pid, record.tag, record.level, record.msg].join(SEP);
    }
    case LogFormat.simple:
    case LogFormat.internal:
      // Same shape: for `internal` the tag is the component name.
      return [time, record.tag, record.level, record.msg].join(SEP);
    default:
      return [time, record.level, record.msg].join(SEP);
  }
}

/**
 * Lays out one record in `format`, each line ending with a newline.
 *
 * @example
 * ```ts
 * formatRecord(LogFormat.cli_info, { time: Date.now(), level: "INFO", tag: "cli", msg: "done" }).stdout; // "done\n"
 * ```
 */
export function formatRecord(format: LogFormat, record: LogRecord): FormattedRecord {
  switch (format) {
    case LogFormat.none:
      return { file: undefined, stdout: undefined };
    case LogFormat.json: {
      const line = jsonLine(record) + "\n";
      return { file: line, stdout: line };
    }
    case LogFormat.cli_info:
      return { file: textLine(LogFormat.cli_debug, record) + "\n", stdout: record.msg + "\n" };
    default: {
      const line = textLine(format, record) + "\n";
      return { file: line, stdout: line };
    }
  }
}

/** True when `value` is one of the {@link LogFormat} members. */
export function isLogFormat(value: unknown): value is LogFormat {
  return typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= 7;
}
