import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { decodeMessage, encodeMessage } from "../../../src/core/codec.ts";
import { writeHead, type HeadStrings } from "../../../src/core/head-writer.ts";
import { Message } from "../../../src/core/message.ts";
import {
  binaries,
  codecPackr,
  moreNumbers,
  numbers,
  others,
  strings,
  typedArrays,
} from "../../helpers/msgpack-samples.ts";

// The head writer must write what msgpackr, configured as the codec configures it, writes.
const packr = codecPackr;
const pack = (v: unknown): Uint8Array => packr.pack(v);

interface HeadFields extends HeadStrings {
  version: number;
  flags: number;
  typeCode: number | null;
  stageCode: number | null;
  attachmentCount: number;
}
const write = (h: HeadFields, payload: unknown): Buffer =>
  writeHead(h, h.version, h.flags, h.typeCode, h.stageCode, h.attachmentCount, payload, pack);

const head: HeadFields = {
  version: 2,
  flags: 1,
  tag: "rollout",
  source: "actor.3",
  destination: "learner",
  sessionId: "Qm4tZ0vN3aE.1k",
  messageId: "Qm4tZ0vN3aE.1l",
  typeCode: 0,
  stageCode: 1,
  attachmentCount: 0,
};
const asArray = (h: HeadFields, payload: unknown): unknown[] => [
  h.version,
  h.flags,
  h.tag,
  h.source,
  h.destination,
  h.sessionId,
  h.messageId,
  h.typeCode,
  h.stageCode,
  h.attachmentCount,
  payload,
];

void describe("writeHead", () => {
  void it("writes the same bytes as msgpackr for every kind of payload it handles itself", () => {
    const payloads = [
      undefined,
      null,
      true,
      false,
      ...numbers,
      ...moreNumbers,
      ...strings,
      ...binaries,
      ...typedArrays,
    ];
    for (const p of payloads) {
      const mine = write(head, p);
      const theirs = packr.pack(asArray(head, p));
      assert.deepEqual(Buffer.from(mine), Buffer.from(theirs), `payload ${String(p).slice(0, 40)}`);
    }
  });

  void it("packs any other payload with the given packer, into the same bytes as msgpackr", () => {
    for (const p of others) {
      const mine = write(head, p);
      assert.deepEqual(Buffer.from(mine), Buffer.from(packr.pack(asArray(head, p))));
    }
  });

  void it("writes non-ASCII strings as UTF-8 that decodes back", () => {
    const h = {
      ...head,
      tag: "état",
      source: "演员.0",
      destination: "🚀".repeat(40),
      typeCode: null,
      stageCode: null,
    };
    for (const p of ["naïve", "ü".repeat(200), "😀".repeat(20_000)]) {
      assert.deepEqual(packr.unpack(write(h, p)), asArray(h, p));
    }
  });

  void it("writes attachment counts of every size", () => {
    for (const attachmentCount of [0, 127, 128, 255, 256, 65535, 65536]) {
      const h = { ...head, attachmentCount };
      assert.deepEqual(Buffer.from(write(h, 1)), Buffer.from(packr.pack(asArray(h, 1))));
    }
  });

  void it("is what encodeMessage sends: messages round-trip through it", () => {
    for (const payload of [undefined, 42, "hi", new Float32Array([1, 2]), { nested: new Uint8Array(3) }]) {
      const m = new Message({ tag: "t", source: "a", destination: "b", payload });
      const back = decodeMessage(encodeMessage(m) as Buffer[]);
      assert.deepEqual(back.payload, payload);
      assert.equal(back.sessionId, m.sessionId);
      assert.equal(back.messageId, m.messageId);
    }
  });
});
