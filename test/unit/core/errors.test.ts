import { strict as assert } from "node:assert";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as errors from "../../../src/core/errors.ts";
import {
  CommandError,
  ConfigError,
  DecodeError,
  ERROR_CLASSES,
  ExitStatus,
  NodeError,
  ReplyTimeoutError,
  WeftError,
  describeForCli,
  isWeftError,
} from "../../../src/core/errors.ts";

const { USAGE, SERVICE, TIMEOUT, COMPONENT, INTERNAL } = ExitStatus;

/**
 * The contract, written out independently of the implementation: class name → [code, MARO errorCode,
 * CLI exit status]. MARO's numbers (1001–1013, 3000–3201) must never change.
 */
const EXPECTED: Record<string, [string, number | undefined, number]> = {
  WeftError: ["WEFT_ERR", undefined, INTERNAL],
  ConfigError: ["WEFT_ERR_CONFIG", undefined, USAGE],
  DecodeError: ["WEFT_ERR_DECODE", undefined, SERVICE],
  EncodeError: ["WEFT_ERR_ENCODE", undefined, USAGE],
  ReplyTimeoutError: ["WEFT_ERR_REPLY_TIMEOUT", undefined, TIMEOUT],
  TimeoutError: ["WEFT_ERR_TIMEOUT", undefined, TIMEOUT],
  ClosedError: ["WEFT_ERR_CLOSED", undefined, INTERNAL],
  AuthenticationError: ["WEFT_ERR_AUTHENTICATION", undefined, SERVICE],
  UnknownPeerError: ["WEFT_ERR_UNKNOWN_PEER", undefined, USAGE],
  TubeSpecError: ["WEFT_ERR_TUBE_SPEC", undefined, USAGE],
  InputMissingError: ["WEFT_ERR_INPUT_MISSING", undefined, USAGE],
  NodeError: ["WEFT_ERR_NODE", undefined, COMPONENT],
  RedisConnectionError: ["WEFT_ERR_REDIS_CONNECTION", 1001, SERVICE],
  PeersMissError: ["WEFT_ERR_PEERS_MISS", 1002, USAGE],
  InformationUncompletedError: ["WEFT_ERR_INFORMATION_UNCOMPLETED", 1003, SERVICE],
  PeersConnectionError: ["WEFT_ERR_PEERS_CONNECTION", 1004, SERVICE],
  DriverSendError: ["WEFT_ERR_DRIVER_SEND", 1005, SERVICE],
  DriverReceiveError: ["WEFT_ERR_DRIVER_RECEIVE", 1006, SERVICE],
  MessageSessionTypeError: ["WEFT_ERR_MESSAGE_SESSION_TYPE", 1007, USAGE],
  ConditionalEventSyntaxError: ["WEFT_ERR_CONDITIONAL_EVENT_SYNTAX", 1008, USAGE],
  DriverTypeError: ["WEFT_ERR_DRIVER_TYPE", 1009, USAGE],
  SocketTypeError: ["WEFT_ERR_SOCKET_TYPE", 1010, USAGE],
  PeersDisconnectionError: ["WEFT_ERR_PEERS_DISCONNECTION", 1011, SERVICE],
  PendingToSend: ["WEFT_ERR_PENDING_TO_SEND", 1012, SERVICE],
  PeersRejoinTimeout: ["WEFT_ERR_PEERS_REJOIN_TIMEOUT", 1013, TIMEOUT],
  CliError: ["WEFT_ERR_CLI", 3000, INTERNAL],
  UserFault: ["WEFT_ERR_USER_FAULT", 3000, USAGE],
  ClientError: ["WEFT_ERR_CLIENT", 3000, INTERNAL],
  ServiceError: ["WEFT_ERR_SERVICE", 3000, SERVICE],
  CommandNotFoundError: ["WEFT_ERR_COMMAND_NOT_FOUND", 3001, USAGE],
  BadRequestError: ["WEFT_ERR_BAD_REQUEST", 3002, USAGE],
  InvalidDeploymentTemplateError: ["WEFT_ERR_INVALID_DEPLOYMENT_TEMPLATE", 3003, USAGE],
  DeploymentError: ["WEFT_ERR_DEPLOYMENT", 3004, COMPONENT],
  FileOperationError: ["WEFT_ERR_FILE_OPERATION", 3005, USAGE],
  CommandError: ["WEFT_ERR_COMMAND", 3006, USAGE],
  ProcessInternalError: ["WEFT_ERR_PROCESS_INTERNAL", 3100, INTERNAL],
  CliInternalError: ["WEFT_ERR_CLI_INTERNAL", 3101, INTERNAL],
  ClusterInternalError: ["WEFT_ERR_CLUSTER_INTERNAL", 3200, SERVICE],
  CommandExecutionError: ["WEFT_ERR_COMMAND_EXECUTION", 3201, SERVICE],
};

/** Parent of each CLI class, as in MARO's tree. */
const CLI_PARENTS: Record<string, string> = {
  UserFault: "CliError",
  ClientError: "CliError",
  ServiceError: "CliError",
  CommandNotFoundError: "UserFault",
  BadRequestError: "UserFault",
  InvalidDeploymentTemplateError: "UserFault",
  DeploymentError: "UserFault",
  FileOperationError: "UserFault",
  CommandError: "UserFault",
  ProcessInternalError: "ClientError",
  CliInternalError: "ClientError",
  ClusterInternalError: "ServiceError",
  CommandExecutionError: "ServiceError",
};

type AnyErrorClass = (typeof ERROR_CLASSES)[number];

/** Builds an instance of any class of the table with `message` and `cause`. */
function make(Ctor: AnyErrorClass, message?: string, options: { cause?: unknown } = {}): WeftError {
  if (Ctor.name === "CommandError") return new (Ctor as typeof CommandError)("npm ci", message, options);
  return new (Ctor as typeof WeftError)(message, options);
}

void describe("error table", () => {
  void it("lists every class of the contract exactly once, and every exported error class", () => {
    const names = ERROR_CLASSES.map((c) => c.name);
    for (const name of Object.keys(EXPECTED)) assert.ok(names.includes(name), `${name} is in ERROR_CLASSES`);
    assert.equal(new Set(names).size, names.length, "no class is listed twice");
    for (const [name, value] of Object.entries(errors)) {
      if (typeof value === "function" && value.prototype instanceof Error) {
        assert.ok(names.includes(name), `${name} is exported but missing from ERROR_CLASSES`);
      }
    }
  });

  void it("gives every class a unique WEFT_ERR_* code", () => {
    const codes = ERROR_CLASSES.map((c) => c.code);
    assert.equal(new Set(codes).size, codes.length, "codes are unique");
    for (const code of codes) assert.match(code, /^WEFT_ERR(_[A-Z0-9]+)*$/);
  });

  for (const Ctor of ERROR_CLASSES.filter((c) => Object.hasOwn(EXPECTED, c.name))) {
    const [code, errorCode, exitStatus] = EXPECTED[Ctor.name] ?? ["?", undefined, -1];
    void it(`${Ctor.name}: code ${code}, errorCode ${String(errorCode)}, exit status ${exitStatus}`, () => {
      const cause = new Error("root cause");
      const err = make(Ctor, "what went wrong, and what to do", { cause });
      assert.ok(err instanceof Ctor);
      assert.ok(err instanceof WeftError);
      assert.ok(err instanceof Error);
      assert.equal(err.name, Ctor.name);
      assert.equal(err.code, code);
      assert.equal(Ctor.code, code);
      assert.equal(err.errorCode, errorCode);
      assert.equal(err.exitStatus, exitStatus);
      assert.equal(err.message, "what went wrong, and what to do");
      assert.equal(err.getMessage(), "what went wrong, and what to do");
      assert.equal(err.cause, cause);
      assert.ok(typeof err.stack === "string" && err.stack.includes(Ctor.name));
      assert.ok(isWeftError(err, code));
      assert.deepEqual(describeForCli(err), {
        status: exitStatus,
        line: `weft: what went wrong, and what to do [${code}]`,
      });
    });
  }

  void it("gives classes added later by other parts valid codes, statuses and brands", () => {
    const statuses = new Set<number>(Object.values(ExitStatus));
    for (const Ctor of ERROR_CLASSES) {
      assert.ok(Object.hasOwn(Ctor, "code"), `${Ctor.name} defines its own code`);
      assert.ok(statuses.has(Ctor.exitStatus), `${Ctor.name} exit status is one of ExitStatus`);
      assert.ok(Ctor.errorCode === undefined || Number.isInteger(Ctor.errorCode));
      assert.ok(Ctor.prototype instanceof WeftError || Ctor === WeftError);
    }
  });

  void it("uses each class's default message when none is given, and sets no cause", () => {
    for (const Ctor of ERROR_CLASSES) {
      if (Ctor === CommandError) continue;
      const err = make(Ctor);
      assert.equal(err.message, Ctor.defaultMessage, Ctor.name);
      assert.ok(err.message.length > 0);
      assert.equal(Object.hasOwn(err, "cause"), false, `${Ctor.name} has no cause`);
    }
  });

  void it("chains causes through several levels, keeping an explicit undefined cause", () => {
    const io = new Error("ECONNREFUSED");
    const decode = new DecodeError("header frame is not msgpack", { cause: io });
    const top = new ConfigError("cannot load the job", { cause: decode });
    assert.equal(top.cause, decode);
    assert.equal((top.cause as Error).cause, io);
    const explicit = new ConfigError("x", { cause: undefined });
    assert.equal(Object.hasOwn(explicit, "cause"), true);
    assert.equal(explicit.cause, undefined);
  });

  void it("builds the CLI tree as MARO did, and exit statuses follow the families", () => {
    const byName = new Map(ERROR_CLASSES.map((c) => [c.name, c]));
    for (const [child, parent] of Object.entries(CLI_PARENTS)) {
      const Child = byName.get(child) as AnyErrorClass;
      const Parent = byName.get(parent) as AnyErrorClass;
      assert.equal(Object.getPrototypeOf(Child), Parent, `${child} extends ${parent}`);
      assert.ok(make(Child) instanceof errors.CliError);
    }
    // A parent does not match its children's instanceof.
    assert.equal(new errors.UserFault() instanceof errors.BadRequestError, false);
    assert.equal(new errors.ClientError() instanceof errors.UserFault, false);
  });

  void it("keeps the extra fields of ReplyTimeoutError, NodeError and CommandError", () => {
    const partial = [{ tag: "r", payload: 1 }];
    const rte = new ReplyTimeoutError("2 of 3 replies", { partial });
    assert.equal(rte.partial, partial);
    assert.deepEqual(new ReplyTimeoutError().partial, []);
    const ne = new NodeError("node b failed: boom", {
      nodeId: "b",
      originalName: "TypeError",
      originalStack: "TypeError: boom\n    at f",
    });
    assert.deepEqual(
      [ne.nodeId, ne.originalName, ne.originalStack],
      ["b", "TypeError", "TypeError: boom\n    at f"],
    );
    const bare = new NodeError();
    assert.deepEqual([bare.nodeId, bare.originalName, bare.originalStack], ["", "Error", undefined]);
    const ce = new CommandError("npm ci");
    assert.equal(ce.cliCommand, "npm ci");
    assert.equal(ce.message, "command failed: npm ci");
    assert.equal(ce.errorCode, 3006);
  });

  void it("describes non-weft errors for the CLI as internal failures", () => {
    assert.deepEqual(describeForCli(new TypeError("x is undefined")), {
      status: INTERNAL,
      line: "weft: unexpected error: x is undefined",
    });
    assert.deepEqual(describeForCli("a string"), {
      status: INTERNAL,
      line: "weft: unexpected error: a string",
    });
    assert.equal(describeForCli(undefined).status, INTERNAL);
    assert.equal(ExitStatus.OK, 0);
    const statuses = Object.values(ExitStatus);
    assert.equal(new Set(statuses).size, statuses.length, "exit statuses are distinct");
  });

  void it("isWeftError tells weft errors and their codes apart", () => {
    const err = new errors.BadRequestError("--n must be positive");
    assert.ok(isWeftError(err));
    assert.ok(isWeftError(err, "WEFT_ERR_BAD_REQUEST"));
    assert.ok(isWeftError(err, "WEFT_ERR_USER_FAULT"), "parent codes match");
    assert.ok(isWeftError(err, "WEFT_ERR_CLI"));
    assert.equal(isWeftError(err, "WEFT_ERR_SERVICE"), false);
    assert.equal(isWeftError(new Error("x")), false);
    assert.equal(isWeftError({ code: "WEFT_ERR" }), false, "a look-alike object is not a weft error");
    assert.equal(isWeftError(null), false);
  });

  void it("does not let a subclass without its own code match its parent's instances", () => {
    class LocalError extends ConfigError {}
    assert.equal(new ConfigError() instanceof LocalError, false);
    assert.equal(new WeftError() instanceof LocalError, false);
    assert.ok(new LocalError() instanceof ConfigError);
    assert.ok(new LocalError() instanceof LocalError);
  });
});

void describe("instanceof across two copies of the package", () => {
  let dir: string;
  let other: typeof errors;

  before(async () => {
    // A second, independent copy of the module, as when two versions of weft are installed side by side.
    dir = mkdtempSync(join(tmpdir(), "weft-errors-copy-"));
    const copy = join(dir, "errors.ts");
    copyFileSync(fileURLToPath(new URL("../../../src/core/errors.ts", import.meta.url)), copy);
    other = (await import(pathToFileURL(copy).href)) as typeof errors;
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  void it("really is a different copy", () => {
    assert.notEqual(other.WeftError, WeftError);
    assert.notEqual(other.ConfigError, ConfigError);
    assert.equal(Object.getPrototypeOf(new other.ConfigError()) === ConfigError.prototype, false);
  });

  void it("matches every class in both directions", () => {
    for (const Ctor of ERROR_CLASSES) {
      const OtherCtor = (other.ERROR_CLASSES as readonly AnyErrorClass[]).find((c) => c.name === Ctor.name);
      assert.ok(OtherCtor, `${Ctor.name} exists in the copy`);
      const mine = make(Ctor, "mine");
      const theirs = make(OtherCtor, "theirs");
      assert.ok(theirs instanceof Ctor, `copy's ${Ctor.name} instanceof this ${Ctor.name}`);
      assert.ok(mine instanceof OtherCtor, `this ${Ctor.name} instanceof copy's ${Ctor.name}`);
      assert.ok(theirs instanceof WeftError);
      assert.ok(mine instanceof other.WeftError);
      assert.ok(isWeftError(theirs, Ctor.code));
      assert.ok(other.isWeftError(mine, Ctor.code));
      assert.equal(describeForCli(theirs).status, Ctor.exitStatus);
      if (Object.hasOwn(EXPECTED, Ctor.name)) {
        assert.equal(describeForCli(theirs).line, `weft: theirs [${Ctor.code}]`);
      }
    }
  });

  void it("matches parents but not siblings or children across copies", () => {
    const theirs = new other.CommandNotFoundError('unknown command "lanch"');
    assert.ok(theirs instanceof errors.UserFault);
    assert.ok(theirs instanceof errors.CliError);
    assert.equal(theirs instanceof errors.BadRequestError, false);
    assert.equal(theirs instanceof errors.ServiceError, false);
    assert.equal(new other.DecodeError() instanceof ConfigError, false);
    assert.equal(new other.UserFault() instanceof errors.CommandNotFoundError, false);
    assert.equal(new Error("plain") instanceof other.WeftError, false);
  });
});
