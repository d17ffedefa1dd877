/**
 * The one error table of weft.
 *
 * Every error weft throws is a {@link WeftError} with a stable string `code` (`WEFT_ERR_…`), the numeric
 * `errorCode` MARO used where MARO defined one, an `exitStatus` the CLI uses, and a `cause` when another
 * error led to it. `instanceof` works across two copies of the package because every instance carries a
 * `Symbol.for` brand listing the codes of its class chain.
 *
 * @example
 * ```ts
 * import { ReplyTimeoutError, WeftError } from "weft";
 * try {
 *   await proxy.send(message, { timeoutMs: 1000 });
 * } catch (err) {
 *   if (err instanceof ReplyTimeoutError) console.log("partial replies:", err.partial.length);
 *   else if (err instanceof WeftError) console.log(err.code, err.message);
 * }
 * ```
 * @module
 */

const BRAND = Symbol.for("weft.error.codes");

/**
 * Process exit statuses the CLI uses for each family of errors.
 * @example
 * ```ts
 * process.exitCode = ExitStatus.USAGE; // 2: the user's input was wrong
 * ```
 */
export const ExitStatus = {
  /** Success. */
  OK: 0,
  /** An unexpected internal failure. */
  INTERNAL: 1,
  /** The user's input (arguments, files, options) is wrong. */
  USAGE: 2,
  /** A peer, a service or the network failed. */
  SERVICE: 3,
  /** A deadline passed. */
  TIMEOUT: 4,
  /** A launched component failed. */
  COMPONENT: 5,
} as const;

/**
 * Options every weft error accepts.
 * @example
 * ```ts
 * throw new ConfigError("cannot read keys.json", { cause: err });
 * ```
 */
export interface WeftErrorOptions {
  /** The error that led to this one. */
  cause?: unknown;
}

/**
 * Base class of every weft error.
 *
 * @example
 * ```ts
 * const err = new WeftError("something failed", { cause: ioError });
 * err.code; // "WEFT_ERR"
 * ```
 */
export class WeftError extends Error {
  /** Stable string code of this error class. */
  static readonly code: string = "WEFT_ERR";
  /** MARO's numeric error code, where MARO defined one. */
  static readonly errorCode: number | undefined = undefined;
  /** Exit status the CLI uses for this error. */
  static readonly exitStatus: number = ExitStatus.INTERNAL;
  /** Message used when none is given. */
  static readonly defaultMessage: string = "weft failed";

  /** Stable string code, e.g. `WEFT_ERR_REPLY_TIMEOUT`. */
  readonly code: string;
  /** MARO's numeric error code, where MARO defined one. */
  readonly errorCode: number | undefined;
  /** Exit status the CLI uses for this error. */
  readonly exitStatus: number;
  declare readonly [BRAND]: readonly string[];

  constructor(message?: string, options: WeftErrorOptions = {}) {
    const ctor = new.target as typeof WeftError;
    super(message ?? ctor.defaultMessage, "cause" in options ? { cause: options.cause } : undefined);
    this.name = ctor.name;
    this.code = ctor.code;
    this.errorCode = ctor.errorCode;
    this.exitStatus = ctor.exitStatus;
    const codes: string[] = [];
    for (let c: unknown = ctor; typeof c === "function" && "code" in c; c = Object.getPrototypeOf(c)) {
      codes.push((c as typeof WeftError).code);
      if (c === WeftError) break;
    }
    Object.defineProperty(this, BRAND, { value: Object.freeze(codes), enumerable: false });
  }

  /** The message, as MARO's `get_message()` returned it. */
  getMessage(): string {
    return this.message;
  }

  /** Matches instances of this class made by any copy of the weft package. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    if (typeof value !== "object" || value === null) return false;
    const codes = (value as { [BRAND]?: unknown })[BRAND];
    // Only a class with its own code can be matched by brand; a subclass that inherits its parent's code
    // would otherwise match every instance of the parent.
    return Array.isArray(codes) && Object.hasOwn(this, "code") && codes.includes(this.code);
  }
}

/**
 * True when `value` is a weft error with `code` (works across package copies).
 * @example
 * ```ts
 * try {
 *   await proxy.send(msg);
 * } catch (err) {
 *   if (isWeftError(err, "WEFT_ERR_PEERS_DISCONNECTION")) console.warn("peer left:", err.message);
 *   else throw err;
 * }
 * ```
 */
export function isWeftError(value: unknown, code?: string): value is WeftError {
  if (!(value instanceof WeftError)) return false;
  return code === undefined || value[BRAND].includes(code);
}

// ---------------------------------------------------------------------------------------------------
// General errors.

/** A configuration value or option is invalid. @example `throw new ConfigError('LOG_LEVEL "LOUD" is not one of DEBUG, INFO…')` */
export class ConfigError extends WeftError {
  static override readonly code = "WEFT_ERR_CONFIG";
  static override readonly exitStatus = ExitStatus.USAGE;
  static override readonly defaultMessage = "invalid configuration";
}

/** Bytes received from the network could not be decoded. @example `new DecodeError("header frame is not msgpack")` */
export class DecodeError extends WeftError {
  static override readonly code = "WEFT_ERR_DECODE";
  static override readonly exitStatus = ExitStatus.SERVICE;
  static override readonly defaultMessage = "malformed message";
}

/** A value could not be encoded (too large, unsupported type). @example `new EncodeError("message is 2 GiB, over the 1 GiB limit")` */
export class EncodeError extends WeftError {
  static override readonly code = "WEFT_ERR_ENCODE";
  static override readonly exitStatus = ExitStatus.USAGE;
  static override readonly defaultMessage = "message could not be encoded";
}

/**
 * A deadline passed before every expected reply arrived. `partial` holds the replies that did arrive.
 * @example
 * ```ts
 * catch (e) { if (e instanceof ReplyTimeoutError) use(e.partial); }
 * ```
 */
export class ReplyTimeoutError extends WeftError {
  static override readonly code = "WEFT_ERR_REPLY_TIMEOUT";
  static override readonly exitStatus = ExitStatus.TIMEOUT;
  static override readonly defaultMessage = "timed out waiting for replies";
  /** Replies that arrived before the deadline, in arrival order. */
  partial: unknown[] = [];
  constructor(message?: string, options: WeftErrorOptions & { partial?: unknown[] } = {}) {
    super(message, options);
    this.partial = options.partial ?? [];
  }
}

/** A generic wait passed its deadline. @example `new TimeoutError("no event 'ready' within 5000 ms")` */
export class TimeoutError extends WeftError {
  static override readonly code: string = "WEFT_ERR_TIMEOUT";
  static override readonly exitStatus = ExitStatus.TIMEOUT;
  static override readonly defaultMessage = "timed out";
}

/** An operation was attempted on something already closed. @example `new ClosedError("proxy is closed")` */
export class ClosedError extends WeftError {
  static override readonly code = "WEFT_ERR_CLOSED";
  static override readonly defaultMessage = "already closed";
}

/** A peer's identity or key was rejected. @example `new AuthenticationError("unknown client certificate")` */
export class AuthenticationError extends WeftError {
  static override readonly code = "WEFT_ERR_AUTHENTICATION";
  static override readonly exitStatus = ExitStatus.SERVICE;
  static override readonly defaultMessage = "authentication failed";
}

/** A destination (peer, node) is not known. @example `new UnknownPeerError('no peer named "worker.9"')` */
export class UnknownPeerError extends WeftError {
  static override readonly code = "WEFT_ERR_UNKNOWN_PEER";
  static override readonly exitStatus = ExitStatus.USAGE;
  static override readonly defaultMessage = "unknown peer";
}

/** A tube specification is invalid. @example `new TubeSpecError("tube.yaml: node b: unknown dependency c.value")` */
export class TubeSpecError extends WeftError {
  static override readonly code = "WEFT_ERR_TUBE_SPEC";
  static override readonly exitStatus = ExitStatus.USAGE;
  static override readonly defaultMessage = "invalid tube specification";
}

/** A required tube input is missing. @example `new InputMissingError('required input "n" is missing')` */
export class InputMissingError extends WeftError {
  static override readonly code = "WEFT_ERR_INPUT_MISSING";
  static override readonly exitStatus = ExitStatus.USAGE;
  static override readonly defaultMessage = "required input missing";
}

/**
 * A node of a graph (tube or pipeline worker) failed. Carries the node id and the original error's class
 * name and stack.
 * @example `new NodeError("node b failed: boom", { nodeId: "b", originalName: "TypeError" })`
 */
export class NodeError extends WeftError {
  static override readonly code = "WEFT_ERR_NODE";
  static override readonly exitStatus = ExitStatus.COMPONENT;
  static override readonly defaultMessage = "node failed";
  /** Id of the node that failed. */
  nodeId: string;
  /** Class name of the original error. */
  originalName: string;
  /** Stack of the original error, as text. */
  originalStack: string | undefined;
  constructor(
    message?: string,
    options: WeftErrorOptions & { nodeId?: string; originalName?: string; originalStack?: string } = {},
  ) {
    super(message, options);
    this.nodeId = options.nodeId ?? "";
    this.originalName = options.originalName ?? "Error";
    this.originalStack = options.originalStack;
  }
}

// ---------------------------------------------------------------------------------------------------
// Communication errors, numbered as MARO numbered them.

/** Redis (discovery) cannot be reached. @example `new RedisConnectionError("redis://127.0.0.1:6379 refused the connection")` */
export class RedisConnectionError extends WeftError {
  static override readonly code = "WEFT_ERR_REDIS_CONNECTION";
  static override readonly errorCode = 1001;
  static override readonly exitStatus = ExitStatus.SERVICE;
  static override readonly defaultMessage = "cannot connect to Redis";
}

/** No peers were expected, or an expected peer type is missing. @example `new PeersMissError("expectedPeers is empty")` */
export class PeersMissError extends WeftError {
  static override readonly code = "WEFT_ERR_PEERS_MISS";
  static override readonly errorCode = 1002;
  static override readonly exitStatus = ExitStatus.USAGE;
  static override readonly defaultMessage = "peers missing";
}

/** Discovery could not find every expected peer in time. @example `new InformationUncompletedError("worker: 1 of 2 found")` */
export class InformationUncompletedError extends WeftError {
  static override readonly code = "WEFT_ERR_INFORMATION_UNCOMPLETED";
  static override readonly errorCode = 1003;
  static override readonly exitStatus = ExitStatus.SERVICE;
  static override readonly defaultMessage = "peer information incomplete";
}

/** Connecting to a peer failed. @example `new PeersConnectionError("cannot connect to worker.0 at tcp://…")` */
export class PeersConnectionError extends WeftError {
  static override readonly code: string = "WEFT_ERR_PEERS_CONNECTION";
  static override readonly errorCode = 1004;
  static override readonly exitStatus = ExitStatus.SERVICE;
  static override readonly defaultMessage = "cannot connect to peers";
}

/** The driver failed to send. @example `new DriverSendError("send to worker.0 timed out after 5000 ms")` */
export class DriverSendError extends WeftError {
  static override readonly code = "WEFT_ERR_DRIVER_SEND";
  static override readonly errorCode = 1005;
  static override readonly exitStatus = ExitStatus.SERVICE;
  static override readonly defaultMessage = "driver failed to send";
}

/** The driver failed to receive. @example `new DriverReceiveError("inbox socket closed")` */
export class DriverReceiveError extends WeftError {
  static override readonly code = "WEFT_ERR_DRIVER_RECEIVE";
  static override readonly errorCode = 1006;
  static override readonly exitStatus = ExitStatus.SERVICE;
  static override readonly defaultMessage = "driver failed to receive";
}

/** A session message has an unknown session type. @example `new MessageSessionTypeError('unknown session type "job"')` */
export class MessageSessionTypeError extends WeftError {
  static override readonly code = "WEFT_ERR_MESSAGE_SESSION_TYPE";
  static override readonly errorCode = 1007;
  static override readonly exitStatus = ExitStatus.USAGE;
  static override readonly defaultMessage = "unknown message session type";
}

/** A conditional event string is malformed. @example `new ConditionalEventSyntaxError('"worker:update" needs source:tag:amount')` */
export class ConditionalEventSyntaxError extends WeftError {
  static override readonly code = "WEFT_ERR_CONDITIONAL_EVENT_SYNTAX";
  static override readonly errorCode = 1008;
  static override readonly exitStatus = ExitStatus.USAGE;
  static override readonly defaultMessage = "conditional event syntax error";
}

/** An unknown driver type was requested. @example `new DriverTypeError('driver "tcpx" is not one of zmq')` */
export class DriverTypeError extends WeftError {
  static override readonly code = "WEFT_ERR_DRIVER_TYPE";
  static override readonly errorCode = 1009;
  static override readonly exitStatus = ExitStatus.USAGE;
  static override readonly defaultMessage = "unknown driver type";
}

/** An unknown socket type or protocol was requested. @example `new SocketTypeError('protocol "udp" is not tcp or ipc')` */
export class SocketTypeError extends WeftError {
  static override readonly code = "WEFT_ERR_SOCKET_TYPE";
  static override readonly errorCode = 1010;
  static override readonly exitStatus = ExitStatus.USAGE;
  static override readonly defaultMessage = "unknown socket type";
}

/** A peer the call depends on is gone. @example `new PeersDisconnectionError("worker.1 died while a reply was awaited")` */
export class PeersDisconnectionError extends WeftError {
  static override readonly code: string = "WEFT_ERR_PEERS_DISCONNECTION";
  static override readonly errorCode = 1011;
  static override readonly exitStatus = ExitStatus.SERVICE;
  static override readonly defaultMessage = "peer disconnected";
}

/** Messages are pending for a peer that has not rejoined yet. @example `new PendingToSend("3 messages cached for worker.1")` */
export class PendingToSend extends WeftError {
  static override readonly code = "WEFT_ERR_PENDING_TO_SEND";
  static override readonly errorCode = 1012;
  static override readonly exitStatus = ExitStatus.SERVICE;
  static override readonly defaultMessage = "messages pending to send";
}

/** Too few peers rejoined in time. @example `new PeersRejoinTimeout("worker: 1 alive, 2 required after 10000 ms")` */
export class PeersRejoinTimeout extends WeftError {
  static override readonly code = "WEFT_ERR_PEERS_REJOIN_TIMEOUT";
  static override readonly errorCode = 1013;
  static override readonly exitStatus = ExitStatus.TIMEOUT;
  static override readonly defaultMessage = "peers did not rejoin in time";
}

// ---------------------------------------------------------------------------------------------------
// Federated errors.

/** A federated node is DISCONNECTED, so a message to it cannot be delivered. @example `new NodeDisconnectedError('node "n1" is DISCONNECTED')` */
export class NodeDisconnectedError extends PeersDisconnectionError {
  static override readonly code = "WEFT_ERR_NODE_DISCONNECTED";
}

/** A queued message waited longer than allowed and was dropped. @example `new MessageExpiredError("task to n1 queued 300000 ms")` */
export class MessageExpiredError extends TimeoutError {
  static override readonly code = "WEFT_ERR_MESSAGE_EXPIRED";
}

/** No researcher server could be reached. @example `new ResearcherUnavailableError("researcher localhost:50051 is not reachable")` */
export class ResearcherUnavailableError extends PeersConnectionError {
  static override readonly code = "WEFT_ERR_RESEARCHER_UNAVAILABLE";
}

// ---------------------------------------------------------------------------------------------------
// CLI errors: 30XX the user's fault, 31XX weft's own, 32XX a service's.

/** Base class of CLI errors. @example `new CliError("weft failed").getMessage()` */
export class CliError extends WeftError {
  static override readonly code: string = "WEFT_ERR_CLI";
  static override readonly errorCode: number | undefined = 3000;
  static override readonly exitStatus: number = ExitStatus.INTERNAL;
  static override readonly defaultMessage: string = "command failed";
}

/** The user should fix this one (arguments, files). @example `new UserFault("bad arguments")` */
export class UserFault extends CliError {
  static override readonly code: string = "WEFT_ERR_USER_FAULT";
  static override readonly exitStatus: number = ExitStatus.USAGE;
}

/** weft's own CLI failed. @example `new ClientError("internal failure")` */
export class ClientError extends CliError {
  static override readonly code: string = "WEFT_ERR_CLIENT";
}

/** A service the CLI used failed. @example `new ServiceError("cluster unavailable")` */
export class ServiceError extends CliError {
  static override readonly code: string = "WEFT_ERR_SERVICE";
  static override readonly exitStatus: number = ExitStatus.SERVICE;
}

/** Unknown subcommand. @example `new CommandNotFoundError('unknown command "lanch"; did you mean "launch"?')` */
export class CommandNotFoundError extends UserFault {
  static override readonly code = "WEFT_ERR_COMMAND_NOT_FOUND";
  static override readonly errorCode = 3001;
}

/** Bad arguments or options. @example `new BadRequestError("--parallel-workers must be a positive integer")` */
export class BadRequestError extends UserFault {
  static override readonly code = "WEFT_ERR_BAD_REQUEST";
  static override readonly errorCode = 3002;
}

/** A job or deployment file is invalid. @example `new InvalidDeploymentTemplateError("job.yaml: components.actor.count must be ≥ 1")` */
export class InvalidDeploymentTemplateError extends UserFault {
  static override readonly code = "WEFT_ERR_INVALID_DEPLOYMENT_TEMPLATE";
  static override readonly errorCode = 3003;
}

/** A job failed while deployed. @example `new DeploymentError("actor.2 exited with status 1")` */
export class DeploymentError extends UserFault {
  static override readonly code = "WEFT_ERR_DEPLOYMENT";
  static override readonly errorCode = 3004;
  static override readonly exitStatus = ExitStatus.COMPONENT;
}

/** A file could not be read or written. @example `new FileOperationError("cannot read job.yaml: ENOENT")` */
export class FileOperationError extends UserFault {
  static override readonly code = "WEFT_ERR_FILE_OPERATION";
  static override readonly errorCode = 3005;
}

/** A command run by the CLI failed. @example `new CommandError("npm ci", "exit status 1")` */
export class CommandError extends UserFault {
  static override readonly code = "WEFT_ERR_COMMAND";
  static override readonly errorCode = 3006;
  /** The command line that failed. */
  readonly cliCommand: string;
  constructor(cliCommand: string, message?: string, options: WeftErrorOptions = {}) {
    super(message ?? `command failed: ${cliCommand}`, options);
    this.cliCommand = cliCommand;
  }
}

/** A child process failed inside the CLI. @example `new ProcessInternalError("worker process crashed")` */
export class ProcessInternalError extends ClientError {
  static override readonly code = "WEFT_ERR_PROCESS_INTERNAL";
  static override readonly errorCode = 3100;
}

/** An unexpected CLI failure. @example `new CliInternalError("unexpected state")` */
export class CliInternalError extends ClientError {
  static override readonly code = "WEFT_ERR_CLI_INTERNAL";
  static override readonly errorCode = 3101;
}

/** A cluster-side failure. @example `new ClusterInternalError("registry unavailable")` */
export class ClusterInternalError extends ServiceError {
  static override readonly code = "WEFT_ERR_CLUSTER_INTERNAL";
  static override readonly errorCode = 3200;
}

/** A remote command failed. @example `new CommandExecutionError("remote command exited 1")` */
export class CommandExecutionError extends ServiceError {
  static override readonly code = "WEFT_ERR_COMMAND_EXECUTION";
  static override readonly errorCode = 3201;
}

/**
 * Every error class of the table, for documentation and tests.
 * @example
 * ```ts
 * for (const E of ERROR_CLASSES) console.log(E.code, E.errorCode ?? "", E.name);
 * ```
 */
export const ERROR_CLASSES = [
  WeftError,
  ConfigError,
  DecodeError,
  EncodeError,
  ReplyTimeoutError,
  TimeoutError,
  ClosedError,
  AuthenticationError,
  UnknownPeerError,
  TubeSpecError,
  InputMissingError,
  NodeError,
  RedisConnectionError,
  PeersMissError,
  InformationUncompletedError,
  PeersConnectionError,
  DriverSendError,
  DriverReceiveError,
  MessageSessionTypeError,
  ConditionalEventSyntaxError,
  DriverTypeError,
  SocketTypeError,
  PeersDisconnectionError,
  PendingToSend,
  PeersRejoinTimeout,
  NodeDisconnectedError,
  MessageExpiredError,
  ResearcherUnavailableError,
  CliError,
  UserFault,
  ClientError,
  ServiceError,
  CommandNotFoundError,
  BadRequestError,
  InvalidDeploymentTemplateError,
  DeploymentError,
  FileOperationError,
  CommandError,
  ProcessInternalError,
  CliInternalError,
  ClusterInternalError,
  CommandExecutionError,
] as const;

/**
 * The exit status and one-line message the CLI prints for any thrown value.
 * @example
 * ```ts
 * const { status, line } = describeForCli(err);
 * console.error(line); process.exitCode = status;
 * ```
 */
export function describeForCli(err: unknown): { status: number; line: string } {
  if (err instanceof WeftError) {
    return { status: err.exitStatus, line: `weft: ${err.message} [${err.code}]` };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { status: ExitStatus.INTERNAL, line: `weft: unexpected error: ${message}` };
}
