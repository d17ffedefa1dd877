// Shared by the launch tests: run `weft launch` in a child process and watch its output.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));

/** True once src/cli/main.ts registers the launch command, so `bin/weft.js launch` works. */
export function launchRegistered(): boolean {
  return /^\s*launch:\s/m.test(readFileSync(join(ROOT, "src/cli/main.ts"), "utf8"));
}

/** `weft launch` argv for spawn: bin/weft.js when registered, else the fixture that calls the command. */
export function weftLaunchArgv(args: string[]): string[] {
  return launchRegistered()
    ? [join(ROOT, "bin/weft.js"), "launch", ...args]
    : ["--import", "tsx", join(FIXTURES, "weft-launch.ts"), ...args];
}

/** Writes a job file into a fresh temporary directory. */
export function writeJob(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), "weft-launch-"));
  const file = join(dir, "job.yaml");
  writeFileSync(file, yaml);
  return file;
}

export function uniqueGroup(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}`;
}

export interface Launched {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit status (or rejects at the deadline, killing the launcher). */
  exited: (deadlineMs: number) => Promise<number | null>;
  /** Resolves when `re` matches the combined output (rejects at the deadline). */
  waitFor: (re: RegExp, deadlineMs: number) => Promise<RegExpMatchArray>;
}

/** Starts `weft launch …` (cwd: the repository). */
export function launch(args: string[], env: NodeJS.ProcessEnv = {}): Launched {
  const child = spawn(process.execPath, weftLaunchArgv(args), {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  const listeners = new Set<() => void>();
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
    for (const l of listeners) l();
  });
  child.stderr.on("data", (d: Buffer) => {
    err += d.toString();
    for (const l of listeners) l();
  });
  const exit = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited: (deadlineMs) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill("SIGKILL");
          reject(
            new Error(`weft launch did not exit within ${deadlineMs} ms\nstdout:\n${out}\nstderr:\n${err}`),
          );
        }, deadlineMs);
        void exit.then((code) => {
          clearTimeout(timer);
          resolve(code);
        });
      }),
    waitFor: (re, deadlineMs) =>
      new Promise((resolve, reject) => {
        const check = (): boolean => {
          const m = (out + err).match(re);
          if (m) {
            listeners.delete(onData);
            clearTimeout(timer);
            resolve(m);
          }
          return Boolean(m);
        };
        const onData = (): void => void check();
        const timer = setTimeout(() => {
          listeners.delete(onData);
          reject(
            new Error(`no output matching ${re} within ${deadlineMs} ms\nstdout:\n${out}\nstderr:\n${err}`),
          );
        }, deadlineMs);
        listeners.add(onData);
        void exit.then(() => setTimeout(() => check(), 0));
        check();
      }),
  };
}

/** Kills a launcher left running by a failed test. */
export function reap(l: Launched | undefined): void {
  if (l && l.child.exitCode === null && l.child.signalCode === null) l.child.kill("SIGKILL");
}

/** True when a process with `pid` exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export { existsSync };
