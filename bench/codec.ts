/**
 * `npm run bench -- codec`: weft's codec against msgpackr in the same run.
 * Prints JSON lines: codec.encode_decode_64b (msg/s), codec.encode_decode_16mib (GB/s) and
 * codec.encode_decode_16mib_vs_copy (GB/s, against Buffer.copy of 16 MiB), and
 * codec.encode_decode_4000_maps (values/s: a list of 4 000 small Maps, each with a Buffer, against
 * msgpackr packing and unpacking the same list its own way).
 */
import { pack, unpack } from "msgpackr";
import { decodeMessage, encodeMessage, packValue, unpackValue } from "../src/core/codec.ts";
import { Message } from "../src/core/message.ts";

/** Runs `fn` repeatedly for about `ms` milliseconds (best of 3 rounds) and returns operations per second. */
function rate(fn: () => void, ms = 1500): number {
  let best = 0;
  for (let round = 0; round < 3; round++) {
    let n = 0;
    const start = process.hrtime.bigint();
    const end = start + BigInt(Math.floor((ms / 3) * 1e6));
    let now = start;
    while (now < end) {
      for (let i = 0; i < 16; i++) fn();
      n += 16;
      now = process.hrtime.bigint();
    }
    best = Math.max(best, n / (Number(now - start) / 1e9));
  }
  return best;
}

function line(bench: string, unit: string, value: number, baseline: number): void {
  const r = (x: number): number => Number(x.toPrecision(4));
  console.log(
    JSON.stringify({ bench, unit, value: r(value), baseline: r(baseline), ratio: r(value / baseline) }),
  );
}

let sink = 0;
const small = new Message({
  tag: "update",
  source: "learner",
  destination: "actor.0",
  payload: Buffer.alloc(64, 1),
});
const smallPlain = {
  tag: small.tag,
  source: small.source,
  destination: small.destination,
  sessionId: small.sessionId,
  messageId: small.messageId,
  payload: small.payload,
};
const weft64 = rate(() => {
  sink += decodeMessage(encodeMessage(small)).tag.length;
});
const msgpackr64 = rate(() => {
  sink += (unpack(pack(smallPlain)) as { tag: string }).tag.length;
});
line("codec.encode_decode_64b", "msg/s", weft64, msgpackr64);

const BYTES = 16 * 1024 * 1024;
const weights = new Float32Array(BYTES / 4).fill(0.5);
const big = new Message({ tag: "weights", source: "learner", destination: "actor.0", payload: weights });
const bigPlain = { ...smallPlain, payload: weights };
const weft16 =
  rate(() => {
    sink += (decodeMessage(encodeMessage(big)).payload as Float32Array).length;
  }) *
  (BYTES / 1e9);
const msgpackr16 =
  rate(() => {
    sink += (unpack(pack(bigPlain)) as { payload: Float32Array }).payload.length;
  }, 3000) *
  (BYTES / 1e9);
const src = Buffer.from(weights.buffer);
const dst = Buffer.alloc(BYTES);
const copy16 =
  rate(() => {
    sink += src.copy(dst);
  }) *
  (BYTES / 1e9);
line("codec.encode_decode_16mib", "GB/s", weft16, msgpackr16);
line("codec.encode_decode_16mib_vs_copy", "GB/s", weft16, copy16);

// Many Maps in one value: each is its own extension in weft's body, and its entries are read after the
// body (reading them during it made msgpackr copy the body once per Map).
const maps = Array.from(
  { length: 4000 },
  (_, i) =>
    new Map<string, unknown>([
      ["step", i],
      ["id", Buffer.alloc(8, i)],
    ]),
);
const weftMaps = rate(() => {
  const { body, attachments } = packValue(maps);
  sink += (unpackValue(body, attachments) as unknown[]).length;
});
const msgpackrMaps = rate(() => {
  sink += (unpack(pack(maps)) as unknown[]).length;
});
line("codec.encode_decode_4000_maps", "values/s", weftMaps, msgpackrMaps);
if (sink === 0) console.error("unexpected: nothing measured");
