import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { peekAttachmentCount, splitMessages } from "../../../src/core/batch.ts";
import { decodeMessage, encodeMessage } from "../../../src/core/codec.ts";
import { Message, SessionMessage, SessionType } from "../../../src/core/message.ts";

const message = (payload: unknown, tag = "t"): Message =>
  new Message({ tag, source: "a", destination: "b", payload });

void describe("several messages in one multipart", () => {
  void it("reads the attachment count of any version 2 first frame", () => {
    const longTag = "x".repeat(300); // str16
    const cases: [Message, number][] = [
      [message(1), 0],
      [message({ w: new Float32Array(1024) }, longTag), 1],
      [message(Array.from({ length: 300 }, () => new Uint8Array(2048))), 300],
      [new SessionMessage({ tag: "s", source: "a", destination: "b", sessionType: SessionType.TASK }), 0],
    ];
    for (const [m, count] of cases) {
      const frames = encodeMessage(m);
      assert.equal(peekAttachmentCount(frames[0] as Uint8Array), count, m.tag.slice(0, 10));
    }
    assert.equal(peekAttachmentCount(Uint8Array.from([0x9a, 1])), -1, "a version 1 header");
    assert.equal(peekAttachmentCount(Uint8Array.from([0x9b, 2, 0, 0xa5, 0x61])), -1, "truncated");
    assert.equal(peekAttachmentCount(new Uint8Array(0)), -1);
  });

  void it("splits back-to-back messages, attachments included, in order", () => {
    const parts = [message(1), message({ w: new Float64Array(512) }), message("three")];
    const frames = parts.flatMap((m) => encodeMessage(m));
    assert.equal(frames.length, 4);
    const groups = splitMessages(frames);
    assert.deepEqual(
      groups.map((g) => g.length),
      [1, 2, 1],
    );
    const decoded = groups.map((g) => decodeMessage(g));
    assert.deepEqual(
      decoded.map((m) => m.messageId),
      parts.map((m) => m.messageId),
    );
    assert.equal((decoded[1]?.payload as { w: Float64Array }).w.length, 512);
  });

  void it("leaves one message, or anything that is not a whole batch, in one piece for the decoder to judge", () => {
    const one = encodeMessage(message({ w: new Float32Array(2048) }));
    assert.equal(splitMessages(one)[0], one);
    const junk = [Uint8Array.from([1, 2, 3]), Uint8Array.from([4])];
    assert.deepEqual(splitMessages(junk), [junk]);
    const good = encodeMessage(message(1))[0] as Uint8Array;
    const bad = Uint8Array.from([0xff, 0xff]);
    const mixed = [good, bad, good];
    assert.deepEqual(splitMessages(mixed), [mixed], "an unreadable first frame: not a batch, one message");
    assert.throws(() => decodeMessage(mixed));
    // A first frame announcing more attachments than there are frames.
    const greedy = encodeMessage(message({ w: new Float32Array(1024) }))[0] as Uint8Array;
    assert.deepEqual(splitMessages([good, greedy]), [[good, greedy]]);
  });
});
