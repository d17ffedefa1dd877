/**
 * The `Logger` class: one tag, one format, a dump file at DEBUG and stdout at a threshold.
 * @module
 */

import { resolve } from "node:path";
import { ConfigError } from "./errors.ts";
import { formatMessage, formatRecord, isLogFormat, LogFormat } from "./logger-format.ts";
import { levelSeverity, LogLevel, resolveStdoutLevel } from "./logger-levels.ts";
import { acquireFileSink, type LogSink, releaseFileSink, stdoutSink } from "./logger-sink.ts";

/**
 * What every weft component needs from a logger.
 *
 * @example
 * ```ts
 * function connect(log: LoggerLike = new DummyLogger()) { log.info("connecting"); }
 * ```
 */
export interface LoggerLike {
  debug(msg: string, ...args: unknown[]): void;
  info(msg: string, ...args: unknown[]): void;
  warn(msg: string, ...args: unknown[]): void;
  error(msg: string, ...args: unknown[]): void;
  critical(msg: string, ...args: unknown[]): void;
  process(msg: string, ...args: unknown[]): void;
}

/**
 * Options of {@link Logger}. Every option is optional.
 * @example
 * ```ts
 * const logger = new Logger("learner", { format: LogFormat.simple, stdoutLevel: "DEBUG" });
 * ```
 */
export interface LoggerOptions {
  /** Line layout. Default `LogFormat.full`. */
  format?: LogFormat;
  /**
   * Folder of the dump file, created if missing; relative paths are resolved against the current
   * directory at construction. `false` writes no file. Default `./logs` (under the current directory).
   */
  dumpFolder?: string | false;
  /** `"w"` truncates the file when this process first opens it, `"a"` appends. Default `"w"`. */
  dumpMode?: "w" | "a";
  /** File extension, with or without the leading dot. Default `"log"`. */
  extensionName?: string;
  /**
   * Put a timestamp in the file name: `tag.20260102-030405-678.log`. The stamp is taken once per process
   * (at the first logger that asks for one), so all files of one run share it. Default `true`.
   */
  autoTimestamp?: boolean;
  /** Lowest level shown on stdout; env `LOG_LEVEL` overrides it. Default `"INFO"`. */
  stdoutLevel?: LogLevel;
  /**
   * Write stdout lines synchronously (like `console.log`) instead of through the non-blocking buffer.
   * Use it for command-line output whose order relative to other output matters. Default `false`.
   */
  stdoutSync?: boolean;
}

let runStamp: string | undefined;

function processRunStamp(): string {
  if (runStamp === undefined) {
    const iso = new Date().toISOString(); // 2026-01-02T03:04:05.678Z
    runStamp = `${iso.slice(0, 10).replaceAll("-", "")}-${iso.slice(11, 19).replaceAll(":", "")}-${iso.slice(20, 23)}`;
  }
  return runStamp;
}

/**
 * The file a logger with these options writes to, or `undefined` when it writes none.
 *
 * @example
 * ```ts
 * logFilePath("learner", { dumpFolder: "/tmp/run", autoTimestamp: false }); // "/tmp/run/learner.log"
 * ```
 */
export function logFilePath(tag: string, options: LoggerOptions = {}): string | undefined {
  const folder = options.dumpFolder ?? "logs";
  if (folder === false || options.format === LogFormat.none) return undefined;
  const ext = (options.extensionName ?? "log").replace(/^\./, "");
  const stamp = (options.autoTimestamp ?? true) ? `.${processRunStamp()}` : "";
  return resolve(folder, `${tag}${stamp}${ext === "" ? "" : `.${ext}`}`);
}

/**
 * A tagged logger. Every record goes at DEBUG to the dump file `dumpFolder/tag[.timestamp].ext` and, at
 * or above `stdoutLevel` (env `LOG_LEVEL` wins), to stdout. Messages take `util.format`-style arguments.
 * Writing never blocks: lines are queued and written by the thread pool; `flush()` waits for them.
 * Loggers that resolve to the same file share one writer, so two loggers with one tag each write their
 * own lines exactly once.
 *
 * @throws {@link ConfigError} for an unknown `LOG_LEVEL`/`stdoutLevel`/`format`, a bad `dumpMode`, or a
 * dump file that cannot be opened.
 * @example
 * ```ts
 * const log = new Logger("learner", { format: LogFormat.simple, dumpFolder: "/tmp/run" });
 * log.info("epoch %d: loss %f", 3, 0.25);
 * log.error("step failed", err); // the error's stack follows the message
 * await log.close();
 * ```
 */
export class Logger implements LoggerLike {
  /** The tag (component name) on every line. */
  readonly tag: string;
  readonly format: LogFormat;
  /** Effective stdout threshold after the `LOG_LEVEL` override. */
  readonly stdoutLevel: LogLevel;
  /** Absolute path of the dump file, or `undefined` when this logger writes none. */
  readonly filePath: string | undefined;
  private readonly threshold: number;
  private fileSink: LogSink | undefined;
  private readonly stdout: LogSink | undefined;
  private closed = false;

  constructor(tag: string, options: LoggerOptions = {}) {
    if (typeof tag !== "string" || tag === "" || /[/\\\0]/.test(tag)) {
      throw new ConfigError(`logger tag ${JSON.stringify(tag)} must be a non-empty string without slashes`);
    }
    const format = options.format ?? LogFormat.full;
    if (!isLogFormat(format)) {
      throw new ConfigError(`log format ${String(format)} is unknown; use a LogFormat member`);
    }
    const mode = options.dumpMode ?? "w";
    if (mode !== "w" && mode !== "a") {
      throw new ConfigError(
        `dumpMode ${JSON.stringify(mode)} is invalid; use "w" (truncate) or "a" (append)`,
      );
    }
    this.tag = tag;
    this.format = format;
    this.stdoutLevel = resolveStdoutLevel(options.stdoutLevel ?? LogLevel.INFO);
    this.threshold = levelSeverity(this.stdoutLevel);
    this.filePath = logFilePath(tag, options);
    this.fileSink = this.filePath === undefined ? undefined : acquireFileSink(this.filePath, mode);
    this.stdout = format === LogFormat.none ? undefined : stdoutSink(options.stdoutSync ?? false);
  }

  debug(msg: string, ...args: unknown[]): void {
    this.log(LogLevel.DEBUG, msg, args);
  }

  info(msg: string, ...args: unknown[]): void {
    this.log(LogLevel.INFO, msg, args);
  }

  warn(msg: string, ...args: unknown[]): void {
    this.log(LogLevel.WARN, msg, args);
  }

  error(msg: string, ...args: unknown[]): void {
    this.log(LogLevel.ERROR, msg, args);
  }

  critical(msg: string, ...args: unknown[]): void {
    this.log(LogLevel.CRITICAL, msg, args);
  }

  process(msg: string, ...args: unknown[]): void {
    this.log(LogLevel.PROCESS, msg, args);
  }

  /**
   * Writes one record. `paint` decorates the stdout line only (the file never gets escape codes).
   * Records logged after `close()` are dropped.
   */
  protected log(
    level: LogLevel,
    msg: unknown,
    args: readonly unknown[],
    paint?: (line: string) => string,
  ): void {
    if (this.closed || this.stdout === undefined) return;
    const toStdout = levelSeverity(level) >= this.threshold;
    if (!toStdout && this.fileSink === undefined) return;
    const lines = formatRecord(this.format, {
      time: Date.now(),
      level,
      tag: this.tag,
      msg: formatMessage(msg, args),
    });
    if (this.fileSink !== undefined && lines.file !== undefined) this.fileSink.write(lines.file);
    if (toStdout && lines.stdout !== undefined) {
      this.stdout.write(paint === undefined ? lines.stdout : paint(lines.stdout.slice(0, -1)) + "\n");
    }
  }

  /** Bytes this logger's destinations dropped because they could not keep up (normally 0). */
  get droppedBytes(): number {
    return (this.fileSink?.droppedBytes ?? 0) + (this.stdout?.droppedBytes ?? 0);
  }

  /** Resolves when every line logged so far has been written to the file and stdout. */
  async flush(): Promise<void> {
    await Promise.all([this.fileSink?.flush(), this.stdout?.flush()]);
  }

  /**
   * Flushes, then releases the dump file (closed when no other logger shares it). Later records are
   * dropped. Idempotent.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const sink = this.fileSink;
    this.fileSink = undefined;
    await Promise.all([sink === undefined ? undefined : releaseFileSink(sink), this.stdout?.flush()]);
  }

  /** `await using log = new Logger(…)` closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
