import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, PeersMissError } from "../../../src/core/errors.ts";
import { resolveProxyOptions } from "../../../src/proxy/options.ts";

const base = { groupName: "g", componentType: "worker", expectedPeers: { master: 1 } };

void describe("resolveProxyOptions", () => {
  void it("fills in the documented defaults", () => {
    const o = resolveProxyOptions(base, "abcd");
    assert.equal(o.componentName, "worker.abcd");
    assert.equal(o.maxRetries, 10);
    assert.equal(o.retryIntervalBaseMs, 100);
    assert.equal(o.enableRejoin, false);
    assert.equal(o.minimalPeers, 0);
    assert.equal(o.enableMessageCacheForRejoin, false);
    assert.equal(o.maxLengthForMessageCache, 1024);
    assert.equal(o.maxRejoinTimes, Number.POSITIVE_INFINITY);
    assert.equal(o.defaultTimeoutMs, undefined);
    assert.deepEqual(o.driver, {});
  });

  void it("keeps given values", () => {
    const o = resolveProxyOptions(
      { ...base, componentName: "w.0", maxRetries: 0, enableRejoin: true, defaultTimeoutMs: 5 },
      "x",
    );
    assert.equal(o.componentName, "w.0");
    assert.equal(o.maxRetries, 0);
    assert.equal(o.enableRejoin, true);
    assert.equal(o.defaultTimeoutMs, 5);
  });

  void it("rejects empty expectedPeers with PeersMissError (1002)", () => {
    assert.throws(
      () => resolveProxyOptions({ ...base, expectedPeers: {} }, "x"),
      (e: unknown) => e instanceof PeersMissError && e.errorCode === 1002 && /expectedPeers/.test(e.message),
    );
  });

  void it("rejects bad values with ConfigError naming the option", () => {
    assert.throws(() => resolveProxyOptions({ ...base, groupName: "" }, "x"), ConfigError);
    assert.throws(
      () => resolveProxyOptions({ ...base, expectedPeers: { master: 0 } }, "x"),
      /expectedPeers\.master/,
    );
    assert.throws(() => resolveProxyOptions({ ...base, maxRetries: -1 }, "x"), /maxRetries/);
    assert.throws(() => resolveProxyOptions({ ...base, maxMessageBytes: 0 }, "x"), /maxMessageBytes/);
    assert.throws(() => resolveProxyOptions({ ...base, retryIntervalBaseMs: Number.NaN }, "x"), ConfigError);
  });
});
