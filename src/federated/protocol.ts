/**
 * Loads `proto/federated.proto` with `@grpc/proto-loader` and gives TypeScript shapes to its messages.
 *
 * The `.proto` file is the single source of truth so that a node written in another language (Python with
 * grpcio, for instance) can speak to a weft researcher from the same file. Messages are plain objects in
 * camelCase, enums as strings, 64-bit integers as numbers, and a oneof's set field named in `kind`.
 * @module
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { ConfigError } from "../core/errors.ts";
import {
  decodeChunk,
  decodeHotFrame,
  encodeAckFrame,
  encodeBatchFrame,
  encodeChunk,
  encodeChunkFrame,
} from "./wire.ts";

/**
 * Version of the federated protocol announced in Hello and Welcome. Version 2 added ChunkBatch frames;
 * the researcher sends batches only to nodes announcing 2 or later.
 * @example
 * ```ts
 * const hello: HelloFrame = { nodeId: "n1", protocolVersion: PROTOCOL_VERSION };
 * ```
 */
export const PROTOCOL_VERSION = 2;
/** First protocol version whose nodes accept ChunkBatch frames. */
export const BATCH_PROTOCOL_VERSION = 2;
/**
 * Full gRPC service name.
 * @example
 * ```ts
 * SERVICE_NAME; // "weft.federated.v1.Researcher", as in proto/federated.proto
 * ```
 */
export const SERVICE_NAME = "weft.federated.v1.Researcher";

/** Kind of a chunked message. */
export type ChunkKind = "CHUNK_KIND_UNSPECIFIED" | "TASK" | "REPLY" | "MESSAGE";

/**
 * One piece of a chunked weft message.
 * @example
 * ```ts
 * const prepared = prepareChunks(task);
 * let index = 0;
 * for (const data of chunkData(prepared)) {
 *   const chunk: ChunkFrame = { messageId: task.messageId, index: index++, count: prepared.count, data, kind: "TASK" };
 *   frames.push(chunk);
 * }
 * ```
 */
export interface ChunkFrame {
  messageId: string;
  index: number;
  count: number;
  data: Uint8Array;
  kind: ChunkKind;
  requestId?: string;
  nodeId?: string;
  /**
   * @internal Sending side only: the data as pieces (head and codec frames), written straight into the
   * protobuf bytes instead of `data`.
   */
  parts?: readonly Uint8Array[];
}
/**
 * First frame of a node's Session stream.
 * @example
 * ```ts
 * const hello: HelloFrame = { nodeId: "n1", protocolVersion: 2, publicKey: overlayKeys.publicKey };
 * ```
 */
export interface HelloFrame {
  nodeId: string;
  publicKey?: Uint8Array;
  protocolVersion: number;
}
/**
 * Acknowledged message ids.
 * @example
 * ```ts
 * const ack: AckFrame = { messageIds: ["m-1", "m-2"] };
 * ```
 */
export interface AckFrame {
  messageIds: string[];
}
/**
 * A log record or a training scalar from a node.
 * @example
 * ```ts
 * const feedback: FeedbackFrame = {
 *   nodeId: "n1",
 *   kind: "scalar",
 *   scalar: { name: "loss", value: 0.42, step: 10, requestId: "m-1" },
 * };
 * ```
 */
export interface FeedbackFrame {
  nodeId: string;
  kind?: "log" | "scalar";
  log?: { level: string; text: string; timeMs: number };
  scalar?: { name: string; value: number; step: number; requestId: string };
}
/**
 * A node-to-node message relayed by the researcher.
 * @example
 * ```ts
 * const overlay: OverlayFrame = {
 *   sourceNodeId: "n1",
 *   destNodeId: "n2",
 *   payload: new Uint8Array([1, 2, 3]),
 *   encrypted: false,
 * };
 * ```
 */
export interface OverlayFrame {
  sourceNodeId: string;
  destNodeId: string;
  payload: Uint8Array;
  encrypted: boolean;
  nonce?: Uint8Array;
  /** Set when the message travels in several pieces: their shared id. */
  messageId?: string;
  /** Position of this piece. */
  index?: number;
  /** Number of pieces; 0 or absent for a message in one piece. */
  count?: number;
}
/**
 * A frame a node sends on its Session stream.
 * @example
 * ```ts
 * const frame: NodeFrame = { kind: "ack", ack: { messageIds: ["m-1"] } };
 * ```
 */
export interface NodeFrame {
  kind?: "hello" | "chunk" | "ack" | "feedback" | "overlay" | "batch";
  hello?: HelloFrame;
  chunk?: ChunkFrame;
  batch?: { chunks: ChunkFrame[] };
  ack?: AckFrame;
  feedback?: FeedbackFrame;
  overlay?: OverlayFrame;
}
/**
 * A frame the researcher sends on a Session stream.
 * @example
 * ```ts
 * const frame: ResearcherFrame = {
 *   kind: "welcome",
 *   welcome: { researcherId: "r1", protocolVersion: PROTOCOL_VERSION },
 * };
 * ```
 */
export interface ResearcherFrame {
  kind?: "welcome" | "chunk" | "ack" | "overlay" | "peerKeys" | "notice" | "batch";
  welcome?: { researcherId: string; protocolVersion: number };
  chunk?: ChunkFrame;
  batch?: { chunks: ChunkFrame[] };
  ack?: AckFrame;
  overlay?: OverlayFrame;
  peerKeys?: { keys: { nodeId: string; publicKey: Uint8Array }[] };
  notice?: { code: string; text: string; refId: string };
}
/** Long-poll request of GetTaskUnary. */
export interface TaskRequestFrame {
  nodeId: string;
  waitMs: number;
}

function protoPath(): string {
  // From src/federated/ the file is beside us; from dist/federated/ it ships in src/federated/proto.
  const candidates = [
    new URL("./proto/federated.proto", import.meta.url),
    new URL("../../src/federated/proto/federated.proto", import.meta.url),
  ];
  for (const url of candidates) {
    const path = fileURLToPath(url);
    if (existsSync(path)) return path;
  }
  throw new ConfigError(
    "federated.proto was not found beside the federated module; reinstall weft (the package must include src/federated/proto)",
  );
}

let cached: grpc.ServiceDefinition | undefined;

/**
 * The gRPC service definition of `weft.federated.v1.Researcher`, loaded once.
 * @example
 * ```ts
 * const server = new grpc.Server();
 * server.addService(researcherService(), handlers);
 * ```
 */
export function researcherService(): grpc.ServiceDefinition {
  if (cached !== undefined) return cached;
  const definition = protoLoader.loadSync(protoPath(), {
    keepCase: false,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    weft: { federated: { v1: { Researcher: grpc.ServiceClientConstructor } } };
  };
  cached = withHotPaths(pkg.weft.federated.v1.Researcher.service);
  return cached;
}

/**
 * A client constructor for the Researcher service.
 * @example
 * ```ts
 * const Client = researcherClientConstructor();
 * const client = new Client("127.0.0.1:50051", grpc.credentials.createInsecure());
 * ```
 */
export function researcherClientConstructor(): grpc.ServiceClientConstructor {
  return grpc.makeGenericClientConstructor(researcherService(), "Researcher");
}

/**
 * The service with the frames that carry every task and reply (chunks and acks) encoded by hand
 * (see wire.ts): same bytes, a fraction of the cost. Other frames keep protobufjs.
 */
function withHotPaths(service: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<any, any>> = {};
  for (const [name, def] of Object.entries(service)) {
    const d = def as grpc.MethodDefinition<any, any>;
    if (name === "Session") {
      const frameSerialize =
        (slow: (v: any) => Buffer) =>
        (f: NodeFrame | ResearcherFrame): Buffer =>
          f.chunk !== undefined
            ? encodeChunkFrame(f.chunk)
            : f.batch !== undefined
              ? encodeBatchFrame(f.batch.chunks)
              : f.ack !== undefined && Object.keys(f).length === 1
                ? encodeAckFrame(f.ack.messageIds)
                : slow(f);
      const frameDeserialize =
        (slow: (b: Buffer) => any) =>
        (b: Buffer): unknown =>
          decodeHotFrame(b) ?? slow(b);
      out[name] = {
        ...d,
        requestSerialize: frameSerialize(d.requestSerialize),
        requestDeserialize: frameDeserialize(d.requestDeserialize),
        responseSerialize: frameSerialize(d.responseSerialize),
        responseDeserialize: frameDeserialize(d.responseDeserialize),
      };
    } else if (name === "ReplyTask") {
      out[name] = { ...d, requestSerialize: encodeChunk, requestDeserialize: (b: Buffer) => decodeChunk(b) };
    } else if (name === "GetTaskUnary") {
      out[name] = {
        ...d,
        responseSerialize: encodeChunk,
        responseDeserialize: (b: Buffer) => decodeChunk(b),
      };
    } else out[name] = d;
  }
  return out as grpc.ServiceDefinition;
}
