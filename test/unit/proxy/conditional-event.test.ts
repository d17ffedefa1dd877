import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { ConditionalEventSyntaxError, WeftError } from "../../../src/core/errors.ts";
import {
  countMatchingPeers,
  EXACT_NAME_SPECIFICITY,
  parseConditionalEvent,
  requiredAmount,
  sourceSpecificity,
  type ConditionalEvent,
  type PeersName,
} from "../../../src/proxy/conditional-event.ts";

function unitOf(text: string) {
  const unit = parseConditionalEvent(text).units[0];
  assert.ok(unit);
  return unit;
}

function workers(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `worker.${i}`);
}

void describe("parseConditionalEvent", () => {
  void it("parses a unit event", () => {
    const { root, units, key } = parseConditionalEvent("worker:update:2");
    assert.equal(root.kind, "unit");
    assert.equal(units.length, 1);
    assert.deepEqual(
      { source: units[0]?.source, tag: units[0]?.tag, amount: units[0]?.amount, path: units[0]?.path },
      { source: "worker", tag: "update", amount: { kind: "count", count: 2 }, path: "event" },
    );
    assert.equal(key, '"worker:update:2"');
  });

  void it("parses percentages exactly, decimals included", () => {
    assert.deepEqual(unitOf("*:t:50%").amount, { kind: "percent", numerator: 50, denominator: 100 });
    assert.deepEqual(unitOf("*:t:12.5%").amount, { kind: "percent", numerator: 125, denominator: 1000 });
    assert.deepEqual(unitOf("*:t:100%").amount, { kind: "percent", numerator: 100, denominator: 100 });
  });

  void it("parses nested composites depth-first with paths", () => {
    const { root, units } = parseConditionalEvent([
      ["w1:update:2", "w2:update:3", "AND"],
      "w3:update:1",
      "OR",
    ]);
    assert.ok(root.kind === "or");
    assert.equal(root.children[0]?.kind, "and");
    assert.deepEqual(
      units.map((u) => [u.text, u.path, u.index]),
      [
        ["w1:update:2", "event[0][0]", 0],
        ["w2:update:3", "event[0][1]", 1],
        ["w3:update:1", "event[1]", 2],
      ],
    );
  });

  const bad: [string, unknown, RegExp][] = [
    ["two parts", "worker:update", /event: "worker:update" has 2 parts.*source:tag:amount/],
    ["four parts", "a:b:c:1", /has 4 parts/],
    ["one part", "worker", /has 1 part /],
    ["empty source", ":update:1", /the source of ":update:1" is empty/],
    ["empty tag", "worker::1", /the tag of "worker::1" is empty/],
    ["empty amount", "worker:update:", /the amount of "worker:update:" is empty/],
    ["spaces", "worker: update:1", /tag of "worker: update:1" has surrounding spaces/],
    ["zero amount", "worker:update:0", /amount "0" .* at least 1/],
    ["negative amount", "worker:update:-1", /amount "-1" .* neither a whole number/],
    ["fractional count", "worker:update:1.5", /amount "1.5"/],
    ["word amount", "worker:update:all", /amount "all"/],
    ["zero percent", "worker:update:0%", /percentage "0%" .* above 0%/],
    ["over 100 percent", "worker:update:150%", /percentage "150%" .* at most 100%/],
    ["too many decimals", "worker:update:12.3456%", /amount "12.3456%"/],
    ["huge count", "worker:update:99999999999999999999", /at least 1/],
    ["operator alone", "AND", /operator "AND" may only be the last element/],
    ["no operator", ["a:x:1", "b:y:1"], /event: the last element .* must be "AND" or "OR", got "b:y:1"/],
    ["lower-case operator", ["a:x:1", "b:y:1", "and"], /operators are upper case: "AND"/],
    ["MARO's && operator", ["a:x:1", "b:y:1", "&&"], /write "AND" for "&&"/],
    ["MARO's || operator", ["a:x:1", "b:y:1", "||"], /write "OR" for "\|\|"/],
    ["operator in the middle", ["a:x:1", "OR", "b:y:1", "AND"], /event\[1\]: operator "OR"/],
    ["one operand", ["a:x:1", "AND"], /"AND" needs at least two events before it, got 1/],
    ["empty array", [], /got nothing/],
    ["number", 42, /expected a "source:tag:amount" string .* got number/],
    ["null inside", ["a:x:1", null, "OR"], /event\[1\]: .* got null/],
    ["object inside", ["a:x:1", {}, "OR"], /event\[1\]: .* got object/],
    ["bad nested unit", [["a:x:1", "b:y", "AND"], "c:z:1", "OR"], /event\[0\]\[1\]: "b:y" has 2 parts/],
    ["bad nested operator", [["a:x:1", "b:y:1", "XOR"], "c:z:1", "OR"], /event\[0\]: the last element/],
    [
      "duplicate unit",
      ["a:x:1", ["a:x:2", "b:y:1", "AND"], "OR"],
      /event\[1\]\[0\]: .* same source and tag as the unit at event\[0\]/,
    ],
  ];
  for (const [name, event, pattern] of bad) {
    void it(`rejects ${name}`, () => {
      assert.throws(
        () => parseConditionalEvent(event as ConditionalEvent),
        (err: unknown) => {
          assert.ok(err instanceof ConditionalEventSyntaxError);
          assert.ok(err instanceof WeftError);
          assert.equal(err.errorCode, 1008);
          assert.match(err.message, pattern);
          return true;
        },
      );
    });
  }

  void it("rejects an array that contains itself instead of recursing forever", () => {
    const loop: unknown[] = ["a:x:1"];
    loop.push(loop, "OR");
    assert.throws(
      () => parseConditionalEvent(loop as ConditionalEvent),
      /event\[1\]: an array contains itself/,
    );
  });

  void it("rejects nesting deeper than 64 levels", () => {
    let deep: ConditionalEvent = "a:x:1";
    for (let i = 0; i < 70; i++) deep = [deep, `b${i}:y:1`, "OR"];
    assert.throws(() => parseConditionalEvent(deep), /nested more than 64 levels deep/);
    let ok: ConditionalEvent = "a:x:1";
    for (let i = 0; i < 60; i++) ok = [ok, `b${i}:y:1`, "AND"];
    assert.equal(parseConditionalEvent(ok).units.length, 61);
  });
});

void describe("source matching", () => {
  const peers: PeersName = {
    worker: ["worker.0", "worker.1", "worker.10"],
    worker_eval: ["worker_eval.0"],
    learner: ["main-learner"],
  };

  void it("scores * below prefixes and types below an exact name", () => {
    assert.equal(sourceSpecificity("*", "worker.0", peers), 0);
    assert.equal(sourceSpecificity("worker", "worker.0", peers), 6);
    assert.equal(sourceSpecificity("worker.1", "worker.10", peers), 8);
    assert.equal(sourceSpecificity("worker.1", "worker.1", peers), EXACT_NAME_SPECIFICITY);
  });

  void it("matches a type by membership, not by prefix", () => {
    assert.equal(sourceSpecificity("worker", "worker_eval.0", peers), -1);
    assert.equal(sourceSpecificity("learner", "main-learner", peers), 7);
    assert.equal(sourceSpecificity("worker_", "worker_eval.0", peers), 7);
    assert.equal(sourceSpecificity("work", "worker_eval.0", peers), 4);
    assert.equal(sourceSpecificity("ps", "worker.0", peers), -1);
  });

  void it("counts the distinct peers a source matches", () => {
    assert.equal(countMatchingPeers("*", peers), 5);
    assert.equal(countMatchingPeers("worker", peers), 3);
    assert.equal(countMatchingPeers("worker.1", peers), 2); // worker.1 and worker.10 by prefix
    assert.equal(countMatchingPeers("work", peers), 4);
    assert.equal(countMatchingPeers("nobody", peers), 0);
    assert.equal(countMatchingPeers("*", { a: ["x", "y"], b: ["x"] }), 2);
  });
});

void describe("requiredAmount", () => {
  void it("returns a count as is", () => {
    assert.equal(requiredAmount(unitOf("worker:update:3"), { worker: workers(10) }), 3);
  });

  void it("rounds percentages up, exactly, with a minimum of 1", () => {
    const cases: [string, number, number][] = [
      ["50%", 10, 5],
      ["50%", 9, 5],
      ["70%", 10, 7], // floating point would give ceil(7.000000000000001) = 8
      ["30%", 5, 2],
      ["33.3%", 3, 1],
      ["33.4%", 3, 2],
      ["100%", 10, 10],
      ["1%", 10, 1],
      ["10%", 0, 1],
      ["12.5%", 8, 1],
      ["12.5%", 9, 2],
    ];
    for (const [amount, n, expected] of cases) {
      assert.equal(
        requiredAmount(unitOf(`worker:update:${amount}`), { worker: workers(n) }),
        expected,
        `${amount} of ${n}`,
      );
    }
  });

  void it("takes the percentage of the peers the source matches", () => {
    const peers = { worker: workers(12), ps: ["ps.0", "ps.1"] };
    assert.equal(requiredAmount(unitOf("*:update:50%"), peers), 7);
    assert.equal(requiredAmount(unitOf("worker.1:update:50%"), peers), 2); // worker.1, worker.10, worker.11
    assert.equal(requiredAmount(unitOf("ps:update:50%"), peers), 1);
  });
});
