import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, type ConnectError } from "@connectrpc/connect";
import { createRequestBodyBudget } from "./request-body-budget.js";

const options = { perConnectionBytes: 100, perServerBytes: 250, timeoutMs: 60_000 };

describe("RequestBodyBudget", () => {
  it("lets calls read until their connection holds its bound; then only the call that began holding first reads on", () => {
    const budget = createRequestBodyBudget(options);
    const connection = {};
    const [first, second] = [budget.meter(connection), budget.meter(connection)];
    assert.equal(first.hold(60), true);
    assert.equal(second.hold(40), false, "the connection holds 100 bytes");
    assert.equal(first.hold(10), true, "the longest-holding call drains the bound");
    assert.equal(budget.held(), 110);
    assert.equal(budget.meter({}).hold(10), true, "another connection reads on");
  });

  it("passes the right to read on to the call holding longest of those left, whichever calls let go", () => {
    const budget = createRequestBodyBudget(options);
    const connection = {};
    const [a, b, c, d] = [1, 2, 3, 4].map(() => budget.meter(connection));
    a.hold(10);
    b.hold(10);
    c.hold(10);
    b.setHeld(0);
    d.hold(70);
    b.hold(10);
    assert.deepEqual(
      [a, b, c, d].map((meter) => meter.mustWait()),
      [false, true, true, true],
    );
    a.setHeld(0);
    c.hold(15);
    assert.deepEqual(
      [a, b, c, d].map((meter) => meter.mustWait()),
      [true, true, false, true],
      "c began holding before d, and b again after both",
    );
    c.close();
    d.hold(25);
    assert.deepEqual(
      [b, d].map((meter) => meter.mustWait()),
      [true, false],
    );
  });

  it("resumes a waiting call once bytes are let go, and holds nothing once every call is closed", () => {
    const budget = createRequestBodyBudget(options);
    const connection = {};
    const [first, second] = [budget.meter(connection), budget.meter(connection)];
    first.hold(90);
    assert.equal(second.hold(20), false);
    let resumed = 0;
    second.whenRoom(() => resumed++);
    assert.equal(resumed, 0);
    first.close();
    assert.equal(resumed, 1);
    second.close();
    assert.equal(budget.held(), 0);
    second.hold(10);
    assert.equal(budget.held(), 0, "a read under way when the call ended holds nothing");
  });

  it("refuses new calls with resource_exhausted while the server holds its bound", () => {
    const budget = createRequestBodyBudget(options);
    budget.meter({}).hold(100);
    budget.meter({}).hold(100);
    budget.admit();
    const third = budget.meter({});
    third.hold(50);
    assert.throws(
      () => budget.admit(),
      (e: ConnectError) => e.code === Code.ResourceExhausted,
    );
    third.close();
    budget.admit();
  });

  it("ends a body that does not arrive in time with deadline_exceeded, and not one that did", async () => {
    const budget = createRequestBodyBudget({ ...options, timeoutMs: 60 });
    const [slow, quick, alsoSlow] = [budget.meter({}), budget.meter({}), budget.meter({})];
    const expired: ConnectError[] = [];
    slow.startClock((e) => expired.push(e));
    quick.startClock(() => assert.fail("a body that arrived was cut"));
    alsoSlow.startClock((e) => expired.push(e));
    quick.close();
    await new Promise((resolve) => setTimeout(resolve, 250));
    assert.deepEqual(
      expired.map((e) => e.code),
      [Code.DeadlineExceeded, Code.DeadlineExceeded],
    );
  });
  it("does not count on its clock the time a call waits for room", async () => {
    const budget = createRequestBodyBudget({ ...options, timeoutMs: 150 });
    const connection = {};
    const [first, second] = [budget.meter(connection), budget.meter(connection)];
    first.hold(100);
    const expired: ConnectError[] = [];
    second.startClock((e) => expired.push(e));
    assert.equal(second.hold(10), false);
    second.whenRoom(() => {});
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(expired.length, 0, "the wait for room was counted");
    first.close();
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(expired.length, 1, "counting again once it may read");
    second.close();
  });
});
