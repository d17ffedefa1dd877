/**
 * Where log lines go: one shared asynchronous writer per file path, and process-wide stdout writers.
 *
 * Writers are sonic-boom instances: `write()` only appends to an in-memory buffer and the bytes reach the
 * file descriptor through `fs.write` on libuv's thread pool, so logging never waits for the disk or for a
 * slow pipe reader. Pending writes keep the event loop alive, so a process that ends by running out of
 * work has written everything; a process that calls `process.exit()` gets a synchronous flush in an
 * `exit` handler.
 * @module
 */

import { mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import sonicBoom from "sonic-boom";
import { ConfigError } from "./errors.ts";

// sonic-boom is CommonJS; its class hangs off module.exports, which is what the default import gives.
const { SonicBoom } = sonicBoom;
type SonicBoom = InstanceType<typeof SonicBoom>;

/** Buffer bound per writer; past it sonic-boom drops data and we count it rather than grow without end. */
const MAX_BUFFER_BYTES = 64 * 1024 * 1024;

/** One destination shared by every logger that writes there. */
export class LogSink {
  /** Bytes dropped because the buffer was full (the destination could not keep up). */
  droppedBytes = 0;
  /** The last write error, if any; later errors are counted but not re-reported. */
  lastError: Error | undefined;
  /** Loggers holding this sink; the file is closed when the last one closes. */
  refs = 0;
  private closed = false;

  constructor(
    readonly key: string,
    private readonly stream: SonicBoom,
  ) {
    stream.on("drop", (data: string | Buffer) => {
      this.droppedBytes += Buffer.byteLength(data);
    });
    stream.on("error", (err: Error) => {
      // A failing log destination must not crash the program it observes; report it once on stderr.
      if (this.lastError === undefined) {
        process.stderr.write(`weft logger: cannot write ${key}: ${err.message}\n`);
      }
      this.lastError = err;
    });
    liveSinks.add(this);
  }

  /** Queues a line; returns at once. */
  write(line: string): void {
    if (!this.closed) this.stream.write(line);
  }

  /** Resolves when every line queued so far has reached the file descriptor. */
  flush(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.stream.flush((err) => {
        if (err !== undefined && err !== null && this.lastError === undefined) this.lastError = err;
        resolve();
      });
    });
  }

  /** Writes what is queued synchronously (used on process exit). Never throws. */
  flushSync(): void {
    if (this.closed) return;
    try {
      this.stream.flushSync();
    } catch {
      // Nothing sensible can be done with an error while the process is exiting.
    }
  }

  /** Flushes and closes the descriptor. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    liveSinks.delete(this);
    return new Promise((resolve) => {
      this.stream.once("close", () => resolve());
      this.stream.once("error", () => resolve());
      this.stream.end();
    });
  }
}

const liveSinks = new Set<LogSink>();
const fileSinks = new Map<string, LogSink>();
let stdoutAsync: LogSink | undefined;
let stdoutSync: LogSink | undefined;
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const sink of liveSinks) sink.flushSync();
  });
}

/**
 * The sink for `path` (absolute), opened on first use with `mode` ("w" truncates, "a" appends) and shared
 * afterwards: later loggers reuse the open descriptor whatever mode they ask for, so two loggers with
 * one tag never truncate each other's lines. Call {@link releaseFileSink} once per acquire.
 *
 * @throws {@link ConfigError} when the folder cannot be created or the file cannot be opened.
 */
export function acquireFileSink(path: string, mode: "w" | "a"): LogSink {
  let sink = fileSinks.get(path);
  if (sink === undefined) {
    let fd: number;
    try {
      // Opening synchronously, once per file, makes a bad dumpFolder fail at construction with a clear
      // error and guarantees the descriptor exists when the exit hook flushes.
      mkdirSync(dirname(path), { recursive: true });
      fd = openSync(path, mode);
    } catch (err) {
      throw new ConfigError(
        `cannot open log file ${path}: ${(err as Error).message}; choose a writable dumpFolder`,
        { cause: err },
      );
    }
    sink = new LogSink(path, new SonicBoom({ fd, sync: false, maxLength: MAX_BUFFER_BYTES }));
    fileSinks.set(path, sink);
    installExitHook();
  }
  sink.refs += 1;
  return sink;
}

/** Drops one reference to a file sink; the last one flushes and closes the file. */
export async function releaseFileSink(sink: LogSink): Promise<void> {
  sink.refs -= 1;
  if (sink.refs > 0) return;
  if (fileSinks.get(sink.key) === sink) fileSinks.delete(sink.key);
  await sink.close();
}

/**
 * The process-wide stdout sink. The asynchronous one never blocks; the synchronous one writes in the call,
 * like `console.log`, for command-line output whose order relative to other output matters.
 */
export function stdoutSink(sync = false): LogSink {
  installExitHook();
  if (sync) {
    stdoutSync ??= new LogSink("stdout", new SonicBoom({ fd: 1, sync: true }));
    return stdoutSync;
  }
  stdoutAsync ??= new LogSink("stdout", new SonicBoom({ fd: 1, sync: false, maxLength: MAX_BUFFER_BYTES }));
  return stdoutAsync;
}

/**
 * Waits until every line queued by any logger in this process has been written.
 *
 * @example
 * ```ts
 * log.info("done");
 * await flushAllLogs();
 * ```
 */
export async function flushAllLogs(): Promise<void> {
  await Promise.all([...liveSinks].map((s) => s.flush()));
}
