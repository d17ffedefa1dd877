/**
 * Logging: `Logger` (tagged, dump file + stdout, several formats), `InternalLogger` for weft's own
 * components (quiet by default), `DummyLogger`, and the command line's `CliLogger`. See docs/logging.md.
 *
 * @example
 * ```ts
 * import { Logger, LogFormat } from "weft";
 * const log = new Logger("learner", { format: LogFormat.simple, dumpFolder: "/tmp/run" });
 * log.info("epoch %d", 3);
 * await log.close();
 * ```
 * @module
 */

import { Logger, type LoggerLike, type LoggerOptions } from "./logger-base.ts";
import { LogFormat } from "./logger-format.ts";
import { LogLevel } from "./logger-levels.ts";

export { Logger, logFilePath, type LoggerLike, type LoggerOptions } from "./logger-base.ts";
export { CliLogger, stdoutWantsColor, type CliLoggerOptions } from "./logger-cli.ts";
export {
  formatMessage,
  formatRecord,
  LogFormat,
  type FormattedRecord,
  type LogRecord,
} from "./logger-format.ts";
export { levelSeverity, LogLevel, parseLogLevel, resolveStdoutLevel } from "./logger-levels.ts";
export { flushAllLogs } from "./logger-sink.ts";

/**
 * A logger that drops everything.
 *
 * @example
 * ```ts
 * const log: LoggerLike = options.logger ?? new DummyLogger();
 * ```
 */
export class DummyLogger implements LoggerLike {
  debug(_msg: string, ..._args: unknown[]): void {}
  info(_msg: string, ..._args: unknown[]): void {}
  warn(_msg: string, ..._args: unknown[]): void {}
  error(_msg: string, ..._args: unknown[]): void {}
  critical(_msg: string, ..._args: unknown[]): void {}
  process(_msg: string, ..._args: unknown[]): void {}
  /** Nothing to flush. */
  async flush(): Promise<void> {}
  /** Nothing to close. */
  async close(): Promise<void> {}
}

/**
 * Logger for weft's own components. Same as {@link Logger} with other defaults, so that a library stays
 * quiet and leaves no files behind unless asked: format `internal` (time | component | level | msg),
 * `stdoutLevel` WARN (env `LOG_LEVEL` still overrides), and no dump file unless `dumpFolder` is given.
 *
 * @example
 * ```ts
 * const log = new InternalLogger("proxy");
 * log.warn("peer %s gone", "worker.1");
 * ```
 */
export class InternalLogger extends Logger {
  constructor(componentName: string, options: LoggerOptions = {}) {
    super(componentName, {
      ...options,
      format: options.format ?? LogFormat.internal,
      dumpFolder: options.dumpFolder ?? false,
      stdoutLevel: options.stdoutLevel ?? LogLevel.WARN,
    });
  }

  /** The component name shown on every line (same as `tag`). */
  get componentName(): string {
    return this.tag;
  }
}
