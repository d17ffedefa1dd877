/**
 * `CliLogger`: the command line's process-wide logger, with colored helpers on a terminal.
 * @module
 */

import { isatty } from "node:tty";
import { Logger } from "./logger-base.ts";
import { LogFormat } from "./logger-format.ts";
import { LogLevel, resolveStdoutLevel } from "./logger-levels.ts";

/**
 * Options of {@link CliLogger.init} / {@link CliLogger.passiveInit}.
 * @example
 * ```ts
 * CliLogger.init({ stdoutLevel: "DEBUG" });
 * ```
 */
export interface CliLoggerOptions {
  /** Lowest level shown; env `LOG_LEVEL` overrides it. Default `"INFO"`. */
  stdoutLevel?: LogLevel;
  /** Default `cli_debug` (time | level | msg) when the effective level is DEBUG, else `cli_info` (bare msg). */
  format?: LogFormat;
  /** Folder for a dump file named `cli[.timestamp].log`; default `false` (no file). */
  dumpFolder?: string | false;
  /**
   * Color the helpers' output. Default: on when stdout is a terminal, unless env `NO_COLOR` is set;
   * env `FORCE_COLOR` (not `0`) turns it on anyway.
   */
  color?: boolean;
}

const GREEN = "\x1b[32m";
const YELLOW = "\x1b[33m";
const RED = "\x1b[31m";
const RESET = "\x1b[0m";

/**
 * Whether stdout should get ANSI colors: `NO_COLOR` wins, then `FORCE_COLOR`, then whether fd 1 is a TTY.
 *
 * @example
 * ```ts
 * stdoutWantsColor(); // false when piped into a file
 * ```
 */
export function stdoutWantsColor(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "") return env.FORCE_COLOR !== "0";
  return isatty(1) && env.TERM !== "dumb";
}

let instance: CliLogger | undefined;

/**
 * The command line's logger: one per process, reached with `CliLogger.get()`. Lines go to stdout
 * synchronously so they keep their order with the command's other output.
 *
 * @example
 * ```ts
 * const log = CliLogger.get();
 * log.infoGreen("deployment %s created", name);
 * log.errorRed("cannot reach %s", url);
 * ```
 */
export class CliLogger extends Logger {
  /** Whether the colored helpers emit ANSI escape codes. */
  readonly colors: boolean;

  private constructor(options: CliLoggerOptions) {
    super("cli", {
      format: options.format ?? defaultCliFormat(options.stdoutLevel),
      dumpFolder: options.dumpFolder ?? false,
      stdoutLevel: options.stdoutLevel ?? LogLevel.INFO,
      stdoutSync: true,
    });
    this.colors = options.color ?? stdoutWantsColor();
  }

  /**
   * The process-wide instance, created with default options on first use.
   *
   * @example
   * ```ts
   * CliLogger.get().info("done");
   * ```
   */
  static get(): CliLogger {
    return CliLogger.passiveInit();
  }

  /**
   * Creates the instance with `options` only if none exists yet (a subcommand's defaults never override
   * what the entry point configured); returns the instance either way.
   *
   * @example
   * ```ts
   * CliLogger.passiveInit({ stdoutLevel: "DEBUG" });
   * ```
   */
  static passiveInit(options: CliLoggerOptions = {}): CliLogger {
    instance ??= new CliLogger(options);
    return instance;
  }

  /**
   * Replaces the instance with one built from `options` (the previous one is closed).
   *
   * @example
   * ```ts
   * CliLogger.init({ stdoutLevel: verbose ? "DEBUG" : "INFO" });
   * ```
   */
  static init(options: CliLoggerOptions = {}): CliLogger {
    const previous = instance;
    instance = new CliLogger(options);
    void previous?.close();
    return instance;
  }

  /** Instance method form of {@link CliLogger.passiveInit}, for code holding the logger already. */
  passiveInit(options: CliLoggerOptions = {}): CliLogger {
    return CliLogger.passiveInit(options);
  }

  /** `debug` in green. */
  debugGreen(msg: string, ...args: unknown[]): void {
    this.log(LogLevel.DEBUG, msg, args, this.painter(GREEN));
  }

  /** `debug` in yellow. */
  debugYellow(msg: string, ...args: unknown[]): void {
    this.log(LogLevel.DEBUG, msg, args, this.painter(YELLOW));
  }

  /** `info` in green. */
  infoGreen(msg: string, ...args: unknown[]): void {
    this.log(LogLevel.INFO, msg, args, this.painter(GREEN));
  }

  /** `error` in red. */
  errorRed(msg: string, ...args: unknown[]): void {
    this.log(LogLevel.ERROR, msg, args, this.painter(RED));
  }

  private painter(color: string): ((line: string) => string) | undefined {
    return this.colors ? (line) => `${color}${line}${RESET}` : undefined;
  }
}

function defaultCliFormat(stdoutLevel: LogLevel | undefined): LogFormat {
  return resolveStdoutLevel(stdoutLevel ?? LogLevel.INFO) === LogLevel.DEBUG
    ? LogFormat.cli_debug
    : LogFormat.cli_info;
}
