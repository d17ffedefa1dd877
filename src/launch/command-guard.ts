/**
 * Runs a command-line component for `weft launch` and ties its life to the launcher's: the command runs
 * in this process's group, its exit status (or signal) becomes this process's, and when the launcher
 * disappears (the IPC channel closes, even after a SIGKILL of the launcher) the whole group is stopped —
 * so no command is ever left behind.
 *
 * A process entry point (not library code): it ends the process itself.
 * @module
 */
import { spawn } from "node:child_process";

const argv = JSON.parse(process.env.WEFT_COMMAND ?? "[]") as string[];
const [cmd, ...args] = argv;
if (cmd === undefined) {
  process.stderr.write("WEFT_COMMAND is not set: this program is started by weft launch\n");
  process.exit(2);
}

// The launcher signals the whole group; this process waits for the command and then mirrors its end.
const ignore = (): void => {};
process.on("SIGTERM", ignore);
process.on("SIGINT", ignore);

const child = spawn(cmd, args, { stdio: "inherit" });
child.on("error", (err: NodeJS.ErrnoException) => {
  process.stderr.write(`cannot start "${cmd}": ${err.code ?? err.message}\n`);
  process.exit(127);
});
child.on("exit", (code, signal) => {
  if (signal) {
    process.off("SIGTERM", ignore);
    process.off("SIGINT", ignore);
    process.kill(process.pid, signal);
    // A signal this process survives (e.g. SIGUSR1 ignored by node): report it as a status.
    setTimeout(() => process.exit(128), 100).unref();
    return;
  }
  process.exit(code ?? 1);
});

process.on("disconnect", () => {
  // The launcher is gone: stop the group (SIGTERM, then SIGKILL), this process last.
  try {
    process.kill(-process.pid, "SIGTERM");
  } catch {
    child.kill("SIGTERM");
  }
  setTimeout(() => {
    try {
      process.kill(-process.pid, "SIGKILL");
    } catch {
      child.kill("SIGKILL");
      process.exit(137);
    }
  }, 2000).unref();
});
