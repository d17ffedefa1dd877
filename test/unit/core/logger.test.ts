import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, test } from "node:test";
import { ConfigError } from "../../../src/core/errors.ts";
import {
  formatMessage,
  InternalLogger,
  Logger,
  LogFormat,
  parseLogLevel,
  resolveStdoutLevel,
} from "../../../src/core/logger.ts";

const CHILD = resolve(import.meta.dirname, "../../helpers/logger-child.ts");
// Resolved here because children run in temporary folders where a bare "tsx" would not resolve.
const TSX = import.meta.resolve("tsx");
const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "weft-logger-"));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface ChildResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

/** Runs the helper child with `spec`; resolves when it has exited (execFile reaps it, timeout kills it). */
function runChild(spec: unknown, env: NodeJS.ProcessEnv = {}, cwd = tempDir()): Promise<ChildResult> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, LOGGER_SPEC: JSON.stringify(spec), ...env };
  for (const key of ["LOG_LEVEL", "NO_COLOR", "FORCE_COLOR"]) if (!(key in env)) delete childEnv[key];
  return new Promise((resolvePromise) => {
    execFile(
      process.execPath,
      ["--import", TSX, CHILD],
      { env: childEnv, cwd, timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : null;
        resolvePromise({ stdout, stderr, code });
      },
    );
  });
}

function lines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "");
}

const ESC = "\x1b";
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

void describe("Logger formats (child process, stdout and file)", () => {
  void test("each format shows exactly its fields on stdout and in the file", async () => {
    const folder = tempDir();
    const formats: [string, LogFormat][] = [
      ["full", LogFormat.full],
      ["simple", LogFormat.simple],
      ["internal", LogFormat.internal],
      ["clidebug", LogFormat.cli_debug],
      ["cliinfo", LogFormat.cli_info],
      ["json", LogFormat.json],
      ["none", LogFormat.none],
    ];
    const res = await runChild({
      loggers: formats.map(([name, format]) => ({
        kind: "logger",
        tag: `t-${name}`,
        options: { format, dumpFolder: folder, autoTimestamp: false, stdoutLevel: "INFO" },
      })),
      calls: formats.flatMap((_, i) => [
        [i, "debug", `dbg-${formats[i]![0]} %d`, 7],
        [i, "info", `msg-${formats[i]![0]} %s`, "x"],
      ]),
    });
    assert.equal(res.code, 0, res.stderr);
    const out = lines(res.stdout);
    const pick = (name: string) => out.filter((l) => l.includes(`msg-${name} x`));
    for (const l of out) assert.ok(!l.includes("dbg-"), `DEBUG must not reach stdout at INFO: ${l}`);

    const full = pick("full");
    assert.equal(full.length, 1);
    const f = full[0]!.split(" | ");
    assert.equal(f.length, 7);
    assert.match(f[0]!, ISO);
    assert.deepEqual(f.slice(1), [hostname(), f[2], f[3], "t-full", "INFO", "msg-full x"]);
    assert.match(f[3]!, /^\d+$/);
    assert.ok(f[2]!.length > 0);

    const simple = pick("simple")[0]!.split(" | ");
    assert.equal(simple.length, 4);
    assert.match(simple[0]!, ISO);
    assert.deepEqual(simple.slice(1), ["t-simple", "INFO", "msg-simple x"]);

    const internal = pick("internal")[0]!.split(" | ");
    assert.deepEqual(internal.slice(1), ["t-internal", "INFO", "msg-internal x"]);

    const cliDebug = pick("clidebug")[0]!.split(" | ");
    assert.equal(cliDebug.length, 3);
    assert.match(cliDebug[0]!, ISO);
    assert.deepEqual(cliDebug.slice(1), ["INFO", "msg-clidebug x"]);

    assert.deepEqual(pick("cliinfo"), ["msg-cliinfo x"]);

    const json = JSON.parse(pick("json")[0]!) as Record<string, unknown>;
    assert.deepEqual(Object.keys(json), ["time", "host", "user", "pid", "tag", "level", "msg"]);
    assert.equal(json.tag, "t-json");
    assert.equal(json.level, "INFO");
    assert.equal(json.msg, "msg-json x");
    assert.equal(json.host, hostname());

    assert.deepEqual(pick("none"), []);

    // Files: every record at DEBUG; `none` writes no file at all.
    assert.deepEqual(readdirSync(folder).sort(), [
      "t-clidebug.log",
      "t-cliinfo.log",
      "t-full.log",
      "t-internal.log",
      "t-json.log",
      "t-simple.log",
    ]);
    const file = (name: string) => lines(readFileSync(join(folder, `t-${name}.log`), "utf8"));
    const fullFile = file("full");
    assert.equal(fullFile.length, 2);
    assert.deepEqual(fullFile[0]!.split(" | ").slice(4), ["t-full", "DEBUG", "dbg-full 7"]);
    assert.deepEqual(fullFile[1], full[0]);
    assert.deepEqual(file("simple")[0]!.split(" | ").slice(1), ["t-simple", "DEBUG", "dbg-simple 7"]);
    assert.deepEqual(file("internal")[0]!.split(" | ").slice(1), ["t-internal", "DEBUG", "dbg-internal 7"]);
    assert.deepEqual(file("clidebug")[0]!.split(" | ").slice(1), ["DEBUG", "dbg-clidebug 7"]);
    // cli_info keeps time and level in the file even though stdout shows the bare message.
    assert.deepEqual(file("cliinfo")[1]!.split(" | ").slice(1), ["INFO", "msg-cliinfo x"]);
    const jsonFile = file("json").map((l) => JSON.parse(l) as { level: string; msg: string });
    assert.deepEqual(
      jsonFile.map((r) => [r.level, r.msg]),
      [
        ["DEBUG", "dbg-json 7"],
        ["INFO", "msg-json x"],
      ],
    );
  });

  void test("LOG_LEVEL overrides stdoutLevel; the file still gets every level", async () => {
    const folder = tempDir();
    const levels = ["debug", "info", "warn", "error", "critical", "process"];
    const res = await runChild(
      {
        loggers: [
          {
            kind: "logger",
            tag: "lv",
            options: {
              format: LogFormat.simple,
              dumpFolder: folder,
              autoTimestamp: false,
              stdoutLevel: "DEBUG",
            },
          },
        ],
        calls: levels.map((m) => [0, m, `at-${m}`]),
      },
      { LOG_LEVEL: "error" },
    );
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(
      lines(res.stdout).map((l) => l.split(" | ")[2]),
      ["ERROR", "CRITICAL", "PROCESS"],
    );
    assert.deepEqual(
      lines(readFileSync(join(folder, "lv.log"), "utf8")).map((l) => l.split(" | ")[3]),
      levels.map((m) => `at-${m}`),
    );
  });

  void test("an unknown LOG_LEVEL makes construction fail with a ConfigError naming the valid values", async () => {
    const res = await runChild(
      { loggers: [{ kind: "internal", tag: "x" }], calls: [] },
      { LOG_LEVEL: "LOUD" },
    );
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /ConfigError/);
    assert.match(
      res.stderr,
      /env LOG_LEVEL "LOUD" is not a log level; use one of DEBUG, INFO, WARN, ERROR, CRITICAL, PROCESS/,
    );

    const saved = process.env.LOG_LEVEL;
    process.env.LOG_LEVEL = "verbose";
    try {
      assert.throws(() => new Logger("bad-env", { dumpFolder: false }), ConfigError);
    } finally {
      if (saved === undefined) delete process.env.LOG_LEVEL;
      else process.env.LOG_LEVEL = saved;
    }
  });

  void test("two loggers with one tag write each line once, to one file and to stdout", async () => {
    const folder = tempDir();
    const options = { format: LogFormat.simple, dumpFolder: folder, autoTimestamp: false };
    const res = await runChild({
      loggers: [
        { kind: "logger", tag: "dup", options },
        { kind: "logger", tag: "dup", options: { ...options, dumpMode: "w" } },
      ],
      calls: [
        [0, "info", "from-first"],
        [1, "info", "from-second"],
        [0, "debug", "dbg-first"],
      ],
    });
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(
      lines(res.stdout).map((l) => l.split(" | ")[3]),
      ["from-first", "from-second"],
    );
    assert.deepEqual(
      lines(readFileSync(join(folder, "dup.log"), "utf8")).map((l) => l.split(" | ")[3]),
      ["from-first", "from-second", "dbg-first"],
    );
  });

  void test("lines queued right before process.exit() still reach the file", async () => {
    const folder = tempDir();
    const res = await runChild({
      loggers: [
        {
          kind: "logger",
          tag: "exit",
          options: {
            format: LogFormat.simple,
            dumpFolder: folder,
            autoTimestamp: false,
            stdoutLevel: "PROCESS",
          },
        },
      ],
      calls: [[0, "debug", "line %d", 1]],
      repeat: 5000,
      exit: true,
    });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(lines(readFileSync(join(folder, "exit.log"), "utf8")).length, 5000);
  });

  void test("InternalLogger: quiet (WARN) by default and writes no file into the working directory", async () => {
    const cwd = tempDir();
    const res = await runChild(
      {
        loggers: [{ kind: "internal", tag: "proxy" }],
        calls: [
          [0, "debug", "hidden-debug"],
          [0, "info", "hidden-info"],
          [0, "warn", "peer %s gone", "worker.1"],
        ],
      },
      {},
      cwd,
    );
    assert.equal(res.code, 0, res.stderr);
    const out = lines(res.stdout);
    assert.equal(out.length, 1);
    assert.deepEqual(out[0]!.split(" | ").slice(1), ["proxy", "WARN", "peer worker.1 gone"]);
    assert.deepEqual(readdirSync(cwd), []);
  });

  void test("Logger's default dump folder is ./logs under the working directory", async () => {
    const cwd = tempDir();
    const res = await runChild(
      {
        loggers: [{ kind: "logger", tag: "dflt", options: { stdoutLevel: "PROCESS" } }],
        calls: [[0, "info", "hi"]],
      },
      {},
      cwd,
    );
    assert.equal(res.code, 0, res.stderr);
    const files = readdirSync(join(cwd, "logs"));
    assert.equal(files.length, 1);
    assert.match(files[0]!, /^dflt\.\d{8}-\d{6}-\d{3}\.log$/);
  });
});

void describe("CliLogger (child process)", () => {
  const calls = [
    [0, "infoGreen", "ok %s", "green"],
    [0, "errorRed", "bad"],
    [0, "info", "plain"],
    [0, "debugYellow", "hidden"],
  ];

  void test("no escape codes when stdout is not a TTY; bare messages at INFO", async () => {
    const res = await runChild({ loggers: [{ kind: "cli", tag: "cli" }], calls });
    assert.equal(res.code, 0, res.stderr);
    assert.ok(!res.stdout.includes(ESC));
    assert.deepEqual(lines(res.stdout), ["ok green", "bad", "plain"]);
  });

  void test("FORCE_COLOR turns colors on; LOG_LEVEL=DEBUG switches to the cli_debug layout", async () => {
    const res = await runChild(
      { loggers: [{ kind: "cli", tag: "cli" }], calls },
      { FORCE_COLOR: "1", LOG_LEVEL: "DEBUG" },
    );
    assert.equal(res.code, 0, res.stderr);
    const out = lines(res.stdout);
    assert.equal(out.length, 4);
    const painted = (color: number, rest: string) =>
      new RegExp(`^${ESC}\\[${color}m.* \\| ${rest}${ESC}\\[0m$`);
    assert.match(out[0]!, painted(32, "INFO \\| ok green"));
    assert.match(out[1]!, painted(31, "ERROR \\| bad"));
    assert.ok(!out[2]!.includes(ESC));
    assert.match(out[2]!, / \| INFO \| plain$/);
    assert.match(out[3]!, painted(33, "DEBUG \\| hidden"));
  });
});

void describe("Logger files (in process)", () => {
  const quiet = { format: LogFormat.simple, autoTimestamp: false, stdoutLevel: "PROCESS" } as const;

  void test("dumpMode w truncates on first open, a appends", async () => {
    const folder = tempDir();
    const read = () => lines(readFileSync(join(folder, "mode.log"), "utf8")).map((l) => l.split(" | ")[3]);
    const one = new Logger("mode", { ...quiet, dumpFolder: folder, dumpMode: "w" });
    one.debug("one");
    await one.close();
    assert.deepEqual(read(), ["one"]);
    const two = new Logger("mode", { ...quiet, dumpFolder: folder, dumpMode: "w" });
    two.debug("two");
    await two.close();
    assert.deepEqual(read(), ["two"]);
    const three = new Logger("mode", { ...quiet, dumpFolder: folder, dumpMode: "a" });
    three.debug("three");
    await three.flush();
    assert.deepEqual(read(), ["two", "three"]);
    await three.close();
    three.debug("after close is dropped");
    assert.deepEqual(read(), ["two", "three"]);
  });

  void test("autoTimestamp names the file tag.<stamp>.ext; extensionName and a leading dot", async () => {
    const folder = tempDir();
    const a = new Logger("stamp", {
      ...quiet,
      dumpFolder: folder,
      autoTimestamp: true,
      extensionName: ".txt",
    });
    const b = new Logger("plain", { ...quiet, dumpFolder: folder, extensionName: "out" });
    a.debug("x");
    b.debug("y");
    await Promise.all([a.close(), b.close()]);
    assert.match(a.filePath!, /\/stamp\.\d{8}-\d{6}-\d{3}\.txt$/);
    assert.equal(b.filePath, join(folder, "plain.out"));
    assert.deepEqual(readdirSync(folder).sort(), ["plain.out", a.filePath!.slice(folder.length + 1)].sort());
  });

  void test("bad options raise ConfigError with a hint", () => {
    const folder = tempDir();
    const notAFolder = join(folder, "file");
    writeFileSync(notAFolder, "");
    assert.throws(
      () => new Logger("x", { dumpFolder: notAFolder }),
      (e: unknown) => e instanceof ConfigError && /choose a writable dumpFolder/.test(e.message),
    );
    assert.throws(() => new Logger("x", { dumpFolder: false, dumpMode: "x" as "w" }), ConfigError);
    assert.throws(() => new Logger("x", { dumpFolder: false, format: 9 as LogFormat }), ConfigError);
    assert.throws(() => new Logger("x", { dumpFolder: false, stdoutLevel: "LOUD" as "INFO" }), ConfigError);
    assert.throws(() => new Logger("a/b", { dumpFolder: false }), ConfigError);
    assert.throws(() => new Logger("", { dumpFolder: false }), ConfigError);
  });

  void test("InternalLogger keeps componentName and writes a file only when given a dumpFolder", async () => {
    const folder = tempDir();
    const log = new InternalLogger("driver", {
      dumpFolder: folder,
      autoTimestamp: false,
      stdoutLevel: "PROCESS",
    });
    assert.equal(log.componentName, "driver");
    assert.equal(new InternalLogger("nofile").filePath, undefined);
    log.debug("d");
    await log.close();
    assert.deepEqual(
      lines(readFileSync(join(folder, "driver.log"), "utf8"))[0]!
        .split(" | ")
        .slice(1),
      ["driver", "DEBUG", "d"],
    );
  });
});

void describe("levels and message formatting", () => {
  void test("parseLogLevel / resolveStdoutLevel", () => {
    assert.equal(parseLogLevel(" warn "), "WARN");
    assert.throws(() => parseLogLevel("WARNING"), ConfigError);
    assert.equal(resolveStdoutLevel("INFO", {}), "INFO");
    assert.equal(resolveStdoutLevel("INFO", { LOG_LEVEL: "" }), "INFO");
    assert.equal(resolveStdoutLevel("INFO", { LOG_LEVEL: "critical" }), "CRITICAL");
    assert.throws(() => resolveStdoutLevel("INFO", { LOG_LEVEL: "7" }), /env LOG_LEVEL "7"/);
  });

  void test("formatMessage substitutes like util.format and shows errors with stack and cause", () => {
    assert.equal(formatMessage("a %s b %d %j", ["x", 2, { k: 1 }]), 'a x b 2 {"k":1}');
    assert.equal(formatMessage("50%% done", []), "50%% done");
    assert.equal(formatMessage("obj", [{ a: [1, 2] }, 3]), "obj { a: [ 1, 2 ] } 3");
    const err = new Error("outer", { cause: new Error("inner") });
    const text = formatMessage("failed:", [err]);
    assert.match(text, /^failed: Error: outer\n\s+at /);
    assert.match(text, /inner/);
    assert.equal(formatMessage({ k: 1 } as unknown as string, []), "{ k: 1 }");
  });
});
