/**
 * Writing a chunked message onto a gRPC stream, frame after frame, pausing whenever the stream's buffer
 * is full so that a large message is never queued whole in memory. Both the researcher (tasks) and the
 * node (replies and own messages) send this way.
 * @module
 */
import type * as grpc from "@grpc/grpc-js";
import { chunkData, singleChunkParts, type ChunkedMessage } from "./chunking.ts";
import type { ChunkFrame } from "./protocol.ts";
import { waitDrain } from "./drain.ts";

/**
 * Any gRPC stream, of the server or of the client, that chunk frames (or frames wrapping them) are
 * written to.
 * @example
 * ```ts
 * const stream: ChunkStream<ChunkFrame> = call; // a GetTaskUnary call on the researcher
 * ```
 */
export type ChunkStream<T> =
  | grpc.ServerWritableStream<any, T>
  | grpc.ServerDuplexStream<any, T>
  | grpc.ClientWritableStream<T>
  | grpc.ClientDuplexStream<T, any>;

/**
 * Writes every chunk of `prepared` to a stream, waiting for drain; false when the stream ended first.
 * Returns a plain boolean when one write was enough, so that the common small message costs no promise.
 * @example
 * ```ts
 * let ok = writeChunks(call, abort.signal, prepared, requestId, "TASK", (c) => ({ chunk: c }));
 * if (ok !== true) ok = await ok;
 * if (!ok) return; // the stream is gone
 * ```
 * @internal
 */
export function writeChunks<T>(
  stream: ChunkStream<T>,
  signal: AbortSignal,
  prepared: ChunkedMessage,
  messageId: string,
  kind: ChunkFrame["kind"],
  wrap: (c: ChunkFrame) => T,
  extra: Partial<ChunkFrame> = {},
): boolean | Promise<boolean> {
  if (prepared.count === 1) {
    // The common case: one frame whose data pieces go straight into the protobuf bytes.
    if (signal.aborted) return false;
    const chunk: ChunkFrame = { messageId, index: 0, count: 1, data: EMPTY, kind, ...extra };
    chunk.parts = singleChunkParts(prepared);
    return stream.write(wrap(chunk)) || waitDrain(stream, signal);
  }
  return writeMany(stream, signal, prepared, messageId, kind, wrap, extra);
}

async function writeMany<T>(
  stream: ChunkStream<T>,
  signal: AbortSignal,
  prepared: ChunkedMessage,
  messageId: string,
  kind: ChunkFrame["kind"],
  wrap: (c: ChunkFrame) => T,
  extra: Partial<ChunkFrame>,
): Promise<boolean> {
  let index = 0;
  for (const data of chunkData(prepared)) {
    if (signal.aborted) return false;
    const more = stream.write(
      wrap({ messageId, index: index++, count: prepared.count, data, kind, ...extra }),
    );
    if (!more && !(await waitDrain(stream, signal))) return false;
  }
  return true;
}

/** The data of a single chunk, whose bytes travel in `parts` instead. */
const EMPTY = new Uint8Array(0);
