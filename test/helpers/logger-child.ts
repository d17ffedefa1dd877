// Child process for the logger tests: builds the loggers described in env LOGGER_SPEC, makes the calls,
// then closes them (or calls process.exit to test the exit flush). Tests read its stdout and files back.
import { CliLogger, InternalLogger, Logger, type LoggerOptions } from "../../src/core/logger.ts";

interface Spec {
  loggers: { kind: "logger" | "internal" | "cli"; tag: string; options?: LoggerOptions }[];
  calls: [number, string, string, ...unknown[]][];
  repeat?: number;
  exit?: boolean;
  throwError?: boolean;
}

const spec = JSON.parse(process.env.LOGGER_SPEC ?? "{}") as Spec;
const loggers = spec.loggers.map((l) =>
  l.kind === "cli"
    ? CliLogger.passiveInit(l.options ?? {})
    : l.kind === "internal"
      ? new InternalLogger(l.tag, l.options ?? {})
      : new Logger(l.tag, l.options ?? {}),
);
for (let i = 0; i < (spec.repeat ?? 1); i++) {
  for (const [index, method, msg, ...args] of spec.calls) {
    const logger = loggers[index] as unknown as Record<string, (m: string, ...a: unknown[]) => void>;
    const extra = spec.throwError === true ? [...args, new Error("child failure")] : args;
    logger[method]?.call(logger, msg, ...extra);
  }
}
if (spec.exit === true) process.exit(0);
await Promise.all(loggers.map((l) => l.close()));
