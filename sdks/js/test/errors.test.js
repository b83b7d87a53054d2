import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import * as sdk from "../src/index.js";
import {
  AccountSuspendedError,
  AuthError,
  ConcurrentLimitReachedError,
  ConnectionError,
  CredentialsError,
  IthacaError,
  KNOWN_CODES,
  MonthlyLimitReachedError,
  RateLimitError,
  StreamDurationExceededError,
  UsageError,
  errorFromCode,
} from "../src/index.js";
import { CATALOG } from "../src/errors-catalog.js";

const spec = JSON.parse(
  readFileSync(new URL("../../../spec/errors.json", import.meta.url), "utf8"),
);
// Every code the SDK maps, with the list it comes from: the server's codes, the hosted Odyssey
// API's, the SDK's own (spec/errors.json's about says what each list is).
const LISTS = ["errors", "odyssey_errors", "sdk_errors"];
const catalog = LISTS.flatMap((list) => spec[list].map((e) => ({ ...e, list })));

describe("spec/errors.json", () => {
  test("src/errors-catalog.js is not stale (else: python3 scripts/gen_error_catalog.py)", () => {
    assert.deepEqual(
      Object.entries(CATALOG),
      catalog.map((e) => [e.code, [e.family, e.retryable]]),
    );
  });

  test("the SDK knows exactly the catalog's codes, in its order", () => {
    assert.deepEqual(
      [...KNOWN_CODES],
      catalog.map((e) => e.code),
    );
    assert.equal(new Set(KNOWN_CODES).size, KNOWN_CODES.length, "no code twice");
  });

  for (const e of catalog) {
    test(`${e.code} (${e.list}): ${e.family}`, () => {
      const Family = sdk[e.family];
      assert.ok(
        typeof Family === "function" &&
          (Family === IthacaError || Family.prototype instanceof IthacaError),
        `${e.family} is not an error class the SDK exports`,
      );
      const err = errorFromCode(e.code, e.message, { action: e.action });
      assert.equal(err.constructor, Family);
      assert.ok(err instanceof IthacaError && err instanceof Error);
      assert.equal(err.name, e.family);
      assert.equal(err.code, e.code);
      assert.equal(err.message, e.message);
      if (Family !== CredentialsError) {
        assert.equal(err.retryable, e.retryable, "retryable matches the catalog");
        assert.equal(err.action, e.action ?? null);
      }
      // Invariants of the catalog the classification must respect.
      if (e.http_status === 401 || e.http_status === 403) assert.ok(err instanceof AuthError);
      if (e.http_status === 429) assert.ok(err instanceof UsageError);
      if (err instanceof UsageError && e.list === "errors") assert.equal(e.http_status, 429);
      assert.equal(
        e.list === "errors",
        Number.isInteger(e.http_status),
        "http_status: server only",
      );
    });
  }

  // A code raised in src/ must be in the catalog: the literals of `code: "..."`,
  // connectionError("..."), errorFromCode("...") and onStreamError?.("...").
  test("every code the SDK's sources raise is in the catalog", () => {
    const known = new Set(catalog.map((e) => e.code));
    const patterns = [
      /\bcode: "([A-Za-z_0-9]+)"/g,
      /\bconnectionError\(\s*"([A-Za-z_0-9]+)"/g,
      /\berrorFromCode\(\s*"([A-Za-z_0-9]+)"/g,
      /\bonStreamError\?\.\(\s*"([A-Za-z_0-9]+)"/g,
    ];
    const src = new URL("../src/", import.meta.url);
    const files = ["client.js", "credentials.js", "errors.js", "server.js", "spectator.js"];
    const found = new Set();
    for (const file of files) {
      const text = readFileSync(new URL(file, src), "utf8");
      for (const re of patterns) for (const m of text.matchAll(re)) found.add(m[1]);
    }
    for (const code of ["network_error", "webrtc_unavailable", "connect_timeout", "wrong_type"]) {
      assert.ok(found.has(code), `the scan finds ${code}: the patterns still match the sources`);
    }
    const missing = [...found].filter((c) => !known.has(c));
    assert.deepEqual(missing, [], "codes raised in src/ but missing from spec/errors.json");
  });
});

describe("errorFromCode", () => {
  test("Odyssey-only usage codes", () => {
    assert.ok(errorFromCode("MONTHLY_LIMIT_REACHED") instanceof MonthlyLimitReachedError);
    assert.ok(errorFromCode("STREAM_DURATION_EXCEEDED") instanceof StreamDurationExceededError);
    assert.ok(errorFromCode("ACCOUNT_SUSPENDED") instanceof AccountSuspendedError);
  });

  test("SDK codes: a credentials code gives a CredentialsError with an empty field", () => {
    const err = errorFromCode("missing_field", "m");
    assert.ok(err instanceof CredentialsError);
    assert.equal(err.field, "");
    assert.ok(errorFromCode("network_error") instanceof ConnectionError);
    assert.equal(errorFromCode("network_error").retryable, true);
  });

  test("extras: details, status, cause; retryable overrides the catalog", () => {
    const cause = new Error("root");
    const err = errorFromCode("CONCURRENT_LIMIT_REACHED", "full", {
      details: { active_count: 3, limit: 3 },
      status: 429,
      retryable: false,
      cause,
    });
    assert.ok(err instanceof ConcurrentLimitReachedError && err instanceof UsageError);
    assert.deepEqual(err.details, { active_count: 3, limit: 3 });
    assert.equal(err.status, 429);
    assert.equal(err.retryable, false);
    assert.equal(err.cause, cause);
  });

  test("defaults", () => {
    const err = errorFromCode("token_expired");
    assert.equal(err.message, "token_expired");
    assert.equal(err.action, null);
    assert.deepEqual(err.details, {});
    assert.equal(err.status, null);
    assert.equal(err.retryable, false);
    assert.equal(
      errorFromCode("no_streamer_available", "busy", { retryable: "yes" }).retryable,
      true,
    );
  });

  test("an unknown code gives a plain IthacaError, never a subclass", () => {
    for (const code of ["SOMETHING_NEW", "toString", "__proto__", "constructor"]) {
      const err = errorFromCode(code, "m");
      assert.equal(err.constructor, IthacaError, code);
      assert.equal(err.code, code);
      assert.equal(err.retryable, false);
    }
  });

  test("RateLimitError.retryAfterSeconds", () => {
    const err = errorFromCode("RATE_LIMITED", "slow down", { details: { retry_after_seconds: 7 } });
    assert.equal(err.retryAfterSeconds, 7);
    assert.equal(errorFromCode("RATE_LIMITED").retryAfterSeconds, null);
  });
});
