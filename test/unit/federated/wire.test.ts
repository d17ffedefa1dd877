import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import * as protoLoader from "@grpc/proto-loader";
import {
  decodeChunk,
  decodeHotFrame,
  encodeAckFrame,
  encodeBatchFrame,
  encodeChunk,
  encodeChunkFrame,
} from "../../../src/federated/wire.ts";
import type { ChunkFrame } from "../../../src/federated/protocol.ts";
import { prepareFrames, Reassembler } from "../../../src/federated/chunking.ts";
import { encodeMessage, packSmall } from "../../../src/core/codec.ts";
import { Message } from "../../../src/core/message.ts";

// protobufjs, as @grpc/proto-loader sets it up, is the reference the hand-written encoding must match.
const definition = protoLoader.loadSync(
  fileURLToPath(new URL("../../../src/federated/proto/federated.proto", import.meta.url)),
  { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true },
);
const service = definition["weft.federated.v1.Researcher"] as protoLoader.ServiceDefinition;
const session = service.Session as protoLoader.MethodDefinition<object, object>;
const replyTask = service.ReplyTask as protoLoader.MethodDefinition<object, object>;

const chunk: ChunkFrame = {
  messageId: "3f0c-é-id",
  index: 300,
  count: 70_000,
  data: new Uint8Array(1000).map((_, i) => i % 251),
  kind: "REPLY",
  requestId: "req-1",
  nodeId: "n1",
};

void test("hand-written Chunk and frame encodings are the bytes protobufjs writes and reads", () => {
  assert.deepEqual(encodeChunk(chunk), replyTask.requestSerialize(chunk));
  assert.deepEqual(encodeChunkFrame(chunk), session.requestSerialize({ chunk }));
  assert.deepEqual(
    encodeAckFrame(["a", "bb", "ccc"]),
    session.responseSerialize({ ack: { messageIds: ["a", "bb", "ccc"] } }),
  );
  // Data given as pieces encodes like the joined data.
  const parts = [chunk.data.subarray(0, 10), chunk.data.subarray(10, 10), chunk.data.subarray(10)];
  assert.deepEqual(encodeChunkFrame({ ...chunk, data: new Uint8Array(0), parts }), encodeChunkFrame(chunk));
  // Defaults (index 0, no request id, empty data) are omitted on the wire and come back as defaults
  const bare: ChunkFrame = { messageId: "m", index: 0, count: 1, data: new Uint8Array(0), kind: "TASK" };
  // (protobufjs writes them explicitly; both forms decode alike.)
  const reference = replyTask.requestDeserialize(encodeChunk(bare)) as ChunkFrame;
  assert.equal(reference.messageId, "m");
  assert.equal(reference.kind, "TASK");
  assert.equal(decodeChunk(replyTask.requestSerialize(bare)).count, 1);
  const back = decodeChunk(encodeChunk(bare));
  assert.equal(back.requestId, "");
  assert.equal(back.index, 0);
  assert.equal(back.data.byteLength, 0);
});

void test("hand-written decoding reads what protobufjs writes; other frames are left to protobufjs", () => {
  const decoded = decodeHotFrame(session.requestSerialize({ chunk }));
  assert.equal(decoded?.kind, "chunk");
  assert.deepEqual(
    { ...(decoded as { chunk: ChunkFrame }).chunk, data: [...(decoded as { chunk: ChunkFrame }).chunk.data] },
    { ...chunk, data: [...chunk.data] },
  );
  assert.deepEqual(decodeHotFrame(session.responseSerialize({ ack: { messageIds: ["x", "y"] } })), {
    kind: "ack",
    ack: { messageIds: ["x", "y"] },
  });
  assert.equal(
    decodeHotFrame(session.requestSerialize({ hello: { nodeId: "n1", protocolVersion: 1 } })),
    undefined,
  );
  assert.throws(() => decodeChunk(encodeChunk(chunk).subarray(0, 20)), RangeError);
});

void test("the frame table of a chunked message is the msgpack array msgpackr writes", () => {
  for (const sizes of [
    [0],
    [5, 127, 128, 255, 256, 65535, 65536, 70_000],
    Array.from({ length: 20 }, (_, i) => i * 1000),
    [],
  ]) {
    const prepared = prepareFrames(
      sizes.map((n) => new Uint8Array(n)),
      1 << 30,
    );
    assert.deepEqual(Buffer.from(prepared.head.subarray(4)), Buffer.from(packSmall(sizes)));
  }
  const m = new Message({ tag: "t", source: "a", destination: "b", payload: new Float32Array(5000).fill(2) });
  const p = prepareFrames(encodeMessage(m), 1 << 30);
  assert.deepEqual(
    new Reassembler().push("x", 0, 1, Buffer.concat([p.head, ...p.frames]))?.payload,
    m.payload,
  );
});

void test("a batch frame is the ChunkBatch protobufjs writes, and decodes to its chunks", () => {
  const other: ChunkFrame = { ...chunk, messageId: "second", data: new Uint8Array([1, 2, 3]) };
  const bytes = encodeBatchFrame([chunk, other]);
  assert.deepEqual(bytes, session.responseSerialize({ batch: { chunks: [chunk, other] } }));
  const viaProtobufjs = session.requestDeserialize(bytes) as {
    kind: string;
    batch: { chunks: ChunkFrame[] };
  };
  assert.equal(viaProtobufjs.kind, "batch");
  assert.deepEqual(
    viaProtobufjs.batch.chunks.map((c) => c.messageId),
    ["3f0c-é-id", "second"],
  );
  const decoded = decodeHotFrame(bytes);
  assert.equal(decoded?.kind, "batch");
  const chunks = (decoded as { batch: { chunks: ChunkFrame[] } }).batch.chunks;
  assert.deepEqual(
    chunks.map((c) => [c.messageId, c.requestId, [...c.data]]),
    [
      [chunk.messageId, "req-1", [...chunk.data]],
      ["second", "req-1", [1, 2, 3]],
    ],
  );
});
