/**
 * Output of the processes of a job: each line prefixed with the component name (colored on a TTY),
 * optionally copied to one log file per component.
 * @module
 */
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";

const COLORS = [36, 33, 32, 35, 34, 91, 96, 93, 92, 95];

/**
 * Options of {@link OutputMux}.
 * @example
 * ```ts
 * const out = new OutputMux({ color: true, quiet: false, logDir: "logs", nameWidth: 9 });
 * ```
 */
export interface OutputOptions {
  /** Where prefixed stdout lines go. Default `process.stdout`. */
  stdout?: Writable;
  /** Where prefixed stderr lines and launcher notices go. Default `process.stderr`. */
  stderr?: Writable;
  /** Color the prefixes. Default false. */
  color?: boolean;
  /** Hide the components' stdout lines (stderr and notices still show; log files still get everything). */
  quiet?: boolean;
  /** Directory for `<component>.log` files (appended across restarts). Default none. */
  logDir?: string;
  /** Width the names are padded to. */
  nameWidth?: number;
}

/**
 * Multiplexes component output onto the launcher's terminal.
 * @example
 * ```ts
 * const out = new OutputMux({ color: process.stdout.isTTY, nameWidth: 9 });
 * out.attach("actor.0", 0, child.stdout, child.stderr);
 * out.notice("actor.0 exited with status 0");
 * ```
 */
export class OutputMux {
  private readonly stdout: Writable;
  private readonly stderr: Writable;
  private readonly files = new Map<string, WriteStream>();

  constructor(private readonly options: OutputOptions = {}) {
    this.stdout = options.stdout ?? process.stdout;
    this.stderr = options.stderr ?? process.stderr;
    if (options.logDir) mkdirSync(options.logDir, { recursive: true });
  }

  private prefix(name: string, colorIndex: number): string {
    const padded = name.padEnd(this.options.nameWidth ?? name.length);
    if (!this.options.color) return `${padded} | `;
    return `\x1b[${COLORS[colorIndex % COLORS.length]}m${padded} |\x1b[0m `;
  }

  private file(name: string): WriteStream | undefined {
    if (!this.options.logDir) return undefined;
    let f = this.files.get(name);
    if (!f) {
      f = createWriteStream(join(this.options.logDir, `${name}.log`), { flags: "a" });
      this.files.set(name, f);
    }
    return f;
  }

  /** Forwards the lines of one process's stdout and stderr. */
  attach(name: string, colorIndex: number, stdout: Readable | null, stderr: Readable | null): void {
    const prefix = this.prefix(name, colorIndex);
    const file = this.file(name);
    if (stdout) {
      createInterface({ input: stdout, crlfDelay: Infinity }).on("line", (line) => {
        file?.write(`${line}\n`);
        if (!this.options.quiet) this.stdout.write(`${prefix}${line}\n`);
      });
    }
    if (stderr) {
      createInterface({ input: stderr, crlfDelay: Infinity }).on("line", (line) => {
        file?.write(`${line}\n`);
        this.stderr.write(`${prefix}${line}\n`);
      });
    }
  }

  /** A line from the launcher itself (stderr, and the component's log file when `name` is given). */
  notice(text: string, name?: string): void {
    const tag = this.options.color ? "\x1b[1mweft\x1b[0m" : "weft";
    this.stderr.write(`[${tag}] ${text}\n`);
    if (name) this.file(name)?.write(`[weft] ${text}\n`);
  }

  /** Closes the log files. */
  async close(): Promise<void> {
    await Promise.all(
      [...this.files.values()].map((f) => new Promise<void>((resolve) => f.end(() => resolve()))),
    );
    this.files.clear();
  }
}
