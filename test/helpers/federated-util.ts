// Helpers of the federated tests: a recording logger and event waits with deadlines.
import type { LoggerLike } from "../../src/core/logger.ts";

export class RecordingLogger implements LoggerLike {
  readonly lines: { level: string; msg: string }[] = [];
  debug(msg: string): void {
    this.lines.push({ level: "debug", msg });
  }
  info(msg: string): void {
    this.lines.push({ level: "info", msg });
  }
  warn(msg: string): void {
    this.lines.push({ level: "warn", msg });
  }
  error(msg: string): void {
    this.lines.push({ level: "error", msg });
  }
  critical(msg: string): void {
    this.lines.push({ level: "critical", msg });
  }
  process(msg: string): void {
    this.lines.push({ level: "process", msg });
  }
  warnings(re: RegExp): number {
    return this.lines.filter((l) => l.level === "warn" && re.test(l.msg)).length;
  }
}

/** Polls `predicate` every 5 ms until true; throws after `timeoutMs`. */
export async function until(predicate: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
