/**
 * Entry point of the `weft` command: dispatches to one subcommand file per command.
 * @module
 */
import { readFileSync } from "node:fs";
import { CommandNotFoundError, describeForCli } from "../core/errors.ts";
import type { CliCommand } from "./command.ts";

/** Subcommands, loaded lazily so that `weft --help` stays fast. */
const COMMANDS: Record<string, () => Promise<CliCommand>> = {
  // Each entry: name → lazy import of src/cli/<name>.ts, whose `command` export implements CliCommand.
  launch: async () => (await import("./launch.ts")).command,
  pipeline: async () => (await import("./pipeline.ts")).command,
  tube: async () => (await import("./tube.ts")).command,
  federated: async () => (await import("./federated.ts")).command,
  peers: async () => (await import("./peers.ts")).command,
  keys: async () => (await import("./keys.ts")).command,
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

async function help(): Promise<string> {
  const lines = [
    `weft ${version()} — distributed ML/RL runtime: messaging groups, pipelines, dataflow graphs, federated transport`,
    "",
    "Usage: weft <command> [options]      weft <command> --help for a command's options",
    "",
    "Commands:",
  ];
  for (const load of Object.values(COMMANDS)) {
    const cmd = await load();
    lines.push(`  ${cmd.name.padEnd(12)} ${cmd.summary}`, `  ${"".padEnd(12)} e.g. ${cmd.example}`);
  }
  lines.push("", "Options:", "  --help, -h     show this help", "  --version, -v  print the version");
  return lines.join("\n");
}

/** Runs the CLI with `argv` (without node and script) and resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === "--help" || first === "-h" || first === "help") {
    console.log(await help());
    return 0;
  }
  if (first === "--version" || first === "-v") {
    console.log(version());
    return 0;
  }
  try {
    const load = COMMANDS[first];
    if (load === undefined) {
      const known = Object.keys(COMMANDS);
      throw new CommandNotFoundError(
        `unknown command "${first}"; run "weft --help" to list commands${known.length > 0 ? ` (${known.join(", ")})` : ""}`,
      );
    }
    const cmd = await load();
    if (rest.includes("--help") || rest.includes("-h")) {
      console.log(cmd.usage);
      return 0;
    }
    return await cmd.run(rest);
  } catch (err) {
    const { status, line } = describeForCli(err);
    console.error(line);
    if (process.env.LOG_LEVEL === "DEBUG" && err instanceof Error && err.stack) console.error(err.stack);
    return status;
  }
}
