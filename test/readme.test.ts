// Every shell command in the README's ```sh blocks is run here, with a deadline.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const root = join(import.meta.dirname, "..");
const readme = readFileSync(join(root, "README.md"), "utf8");

/** The commands of every ```sh block, one per non-empty line. */
function shellCommands(markdown: string): string[] {
  const out: string[] = [];
  for (const match of markdown.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of (match[1] ?? "").split("\n")) if (line.trim() !== "") out.push(line.trim());
  }
  return out;
}

/** A copy of the project's files (tracked and new, not ignored) in a fresh directory, as a clone would have. */
function freshCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), "weft-readme-"));
  const files = execFileSync("git", ["ls-files", "-co", "--exclude-standard"], {
    cwd: root,
    encoding: "utf8",
  })
    .split("\n")
    .filter((f) => f !== "");
  for (const f of files) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    try {
      cpSync(join(root, f), join(dir, f));
    } catch {
      // A file listed by git but deleted in the working tree.
    }
  }
  return dir;
}

function run(
  command: string,
  cwd: string,
  deadlineMs: number,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // NODE_TEST_CONTEXT would make a nested test runner skip every file: the command must run as a user runs it.
    const { NODE_TEST_CONTEXT: _context, ...env } = process.env;
    const child = spawn("bash", ["-c", command], {
      cwd,
      detached: true,
      env: { ...env, CI: "true" },
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // Already gone.
      }
      reject(new Error(`"${command}" did not finish within ${deadlineMs} ms:\n${output.slice(-3000)}`));
    }, deadlineMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

void describe("README commands", () => {
  const commands = shellCommands(readme);
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  void it("lists exactly the quick start's two commands", () => {
    assert.deepEqual(commands, ["npm ci && npm start", "npm test"]);
  });

  void it("npm ci && npm start installs and trains CartPole to the target score", async () => {
    const dir = freshCopy();
    dirs.push(dir);
    const { code, output } = await run("npm ci --no-audit --no-fund && npm start", dir, 300_000);
    assert.equal(code, 0, output.slice(-3000));
    const score = /evaluation[^\n]*?(\d+(?:\.\d+)?)/i.exec(output.split("\n").reverse().join("\n"));
    assert.ok(score, `no evaluation score in the output:\n${output.slice(-2000)}`);
    assert.ok(Number(score[1]) >= 475, `evaluation score ${score[1]} is below 475`);
  });

  void it("npm test runs the node:test runner over the test folder", async () => {
    // Running the whole suite from inside itself would recurse; run the same script on one folder instead.
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    assert.equal(pkg.scripts.test, "node scripts/run-tests.mjs");
    const { code, output } = await run("npm test -- test/unit/cli", root, 120_000);
    assert.equal(code, 0, output.slice(-3000));
    assert.match(output, /ℹ pass [1-9]\d*/);
    assert.match(output, /ℹ fail 0/);
  });
});
