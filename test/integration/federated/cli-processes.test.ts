import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { NodeClient, ResearcherServer } from "../../../src/federated/index.ts";
import { Message } from "../../../src/core/message.ts";
import { DummyLogger } from "../../../src/core/logger.ts";

const WEFT = fileURLToPath(new URL("../../../bin/weft.js", import.meta.url));

/** Spawns `weft …` and collects its stdout; `waitFor` resolves on the first line matching, or throws after a deadline. */
function weft(args: string[]): {
  proc: ChildProcess;
  waitFor: (re: RegExp, ms?: number) => Promise<RegExpExecArray>;
} {
  const proc = spawn(process.execPath, [WEFT, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  const waiters = new Set<() => void>();
  proc.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
    for (const w of [...waiters]) w();
  });
  proc.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  proc.once("exit", () => {
    for (const w of [...waiters]) w();
  });
  const waitFor = (re: RegExp, ms = 20_000): Promise<RegExpExecArray> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const m = re.exec(out);
        if (m !== null) {
          waiters.delete(check);
          clearTimeout(timer);
          resolve(m);
        } else if (proc.exitCode !== null || proc.signalCode !== null) {
          waiters.delete(check);
          clearTimeout(timer);
          reject(
            new Error(
              `weft ${args.join(" ")} exited before printing ${re}; stdout:\n${out}\nstderr:\n${err}`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(
          new Error(
            `weft ${args.join(" ")} did not print ${re} within ${ms} ms; stdout:\n${out}\nstderr:\n${err}`,
          ),
        );
      }, ms);
      waiters.add(check);
      check();
    });
  return { proc, waitFor };
}

function exited(proc: ChildProcess): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(proc.exitCode);
  return new Promise((resolve) => proc.once("exit", (code) => resolve(code)));
}

void test("weft federated serve and weft federated node run as processes and talk end to end", async () => {
  const dir = mkdtempSync(join(tmpdir(), "weft-fed-cli-"));
  writeFileSync(
    join(dir, "train.ts"),
    `export function train(task: { payload: number }, ctx: { nodeId: string }) {\n` +
      `  return { doubled: task.payload * 2, by: ctx.nodeId };\n}\n`,
  );
  const procs: ChildProcess[] = [];
  const researcher = new ResearcherServer({ logger: new DummyLogger() });
  let probe: NodeClient | undefined;
  try {
    const serve = weft(["federated", "serve", "--port", "0", "--disconnect-timeout-ms", "60000"]);
    procs.push(serve.proc);
    const port = Number((await serve.waitFor(/listening on [^\s]+:(\d+)/))[1]);
    assert.ok(port > 0);

    // The CLI node serves two researchers: the `serve` process and one in this process.
    const { port: localPort } = await researcher.start();
    const node = weft([
      "federated",
      "node",
      "--id",
      "n1",
      "--researcher",
      `127.0.0.1:${port}`,
      "--researcher",
      `127.0.0.1:${localPort}`,
      "--task-module",
      `${join(dir, "train.ts")}#train`,
    ]);
    procs.push(node.proc);
    const deadline = Date.now() + 20_000;
    while (researcher.getNode("n1") === undefined) {
      if (Date.now() > deadline || node.proc.exitCode !== null) throw new Error("CLI node never connected");
      await new Promise((r) => setTimeout(r, 20));
    }
    // A task runs the exported function of the task module, and its value comes back as the reply.
    const reply = await researcher.request(
      new Message({ tag: "double", source: "r", destination: "n1", payload: 21 }),
      "n1",
      { timeoutMs: 20_000 },
    );
    assert.deepEqual(reply.payload, { doubled: 42, by: "n1" });

    // `serve` prints what nodes send: feedback and messages.
    probe = new NodeClient({
      nodeId: "probe",
      researchers: [{ host: "127.0.0.1", port }],
      onTask: () => undefined,
      logger: new DummyLogger(),
    });
    probe.start();
    await probe.waitConnected({ timeoutMs: 20_000 });
    probe.feedbackLog("INFO", "hello from probe");
    await serve.waitFor(/\[probe\] INFO hello from probe/);
    await probe.send(new Message({ tag: "status", source: "probe", destination: "", payload: 1 }));
    await serve.waitFor(/\[probe\] message status/);

    // The CLI node was connected to `serve` too: stopping it makes `serve` report it WAITING.
    node.proc.kill("SIGTERM");
    assert.equal(await exited(node.proc), 0);
    await serve.waitFor(/node n1: WAITING/);
    serve.proc.kill("SIGTERM");
    assert.equal(await exited(serve.proc), 0);
  } finally {
    await probe?.stop();
    await researcher.stop({ graceMs: 200 });
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    await Promise.all(procs.map(exited));
    rmSync(dir, { recursive: true, force: true });
  }
});
