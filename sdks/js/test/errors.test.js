import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import {
  AccountSuspendedError,
  AuthError,
  ConcurrentLimitReachedError,
  ConnectionError,
  IthacaError,
  KNOWN_CODES,
  MonthlyLimitReachedError,
  RateLimitError,
  RequestError,
  ServerError,
  StreamDurationExceededError,
  StreamError,
  UsageError,
  errorFromCode,
} from "../src/index.js";

const catalog = JSON.parse(
  readFileSync(new URL("../../../spec/errors.json", import.meta.url), "utf8"),
).errors;

// Codes of the hosted Odyssey API (odyssey-wire.md section 3) that Ithaca never sends.
const ODYSSEY_ONLY = ["MONTHLY_LIMIT_REACHED", "STREAM_DURATION_EXCEEDED", "ACCOUNT_SUSPENDED"];

// The family of every catalog code. A new code in spec/errors.json fails "every code is
// classified" until it is added both here and to the table in src/errors.js.
const FAMILY = {
  invalid_request: RequestError,
  invalid_json: RequestError,
  invalid_metadata: RequestError,
  missing_api_key: AuthError,
  invalid_api_key: AuthError,
  malformed_api_key: AuthError,
  api_key_revoked: AuthError,
  forbidden: AuthError,
  not_found: RequestError,
  method_not_allowed: RequestError,
  session_not_found: RequestError,
  session_ended: ConnectionError,
  session_already_connected: ConnectionError,
  credential_already_issued: RequestError,
  request_too_large: RequestError,
  unsupported_media_type: RequestError,
  CONCURRENT_LIMIT_REACHED: ConcurrentLimitReachedError,
  RATE_LIMITED: RateLimitError,
  token_malformed: AuthError,
  token_unsupported_alg: AuthError,
  token_unknown_kid: AuthError,
  token_bad_signature: AuthError,
  token_expired: AuthError,
  token_not_yet_valid: AuthError,
  token_wrong_audience: AuthError,
  token_wrong_role: AuthError,
  token_wrong_session: AuthError,
  token_revoked: AuthError,
  no_streamer_available: ConnectionError,
  streamer_not_available: ConnectionError,
  streamer_disconnected: ConnectionError,
  duration_limit_reached: ConnectionError,
  session_timeout: StreamError,
  invalid_command: StreamError,
  stream_not_active: StreamError,
  stream_already_active: StreamError,
  invalid_image: StreamError,
  capability_missing: StreamError,
  origin_not_allowed: AuthError,
  streamer_unauthorized: AuthError,
  streamer_failed: ConnectionError,
  spectator_token_invalid: AuthError,
  stream_not_found: StreamError,
  spectator_limit_reached: ConnectionError,
  store_unavailable: ServerError,
  shutting_down: ServerError,
  config_invalid: ServerError,
  internal: ServerError,
};

describe("spec/errors.json", () => {
  test("the SDK knows exactly the catalog's codes (plus Odyssey-only usage codes)", () => {
    const expected = [...catalog.map((e) => e.code), ...ODYSSEY_ONLY].sort();
    assert.deepEqual([...KNOWN_CODES].sort(), expected);
  });

  for (const e of catalog) {
    test(`${e.code} (HTTP ${e.http_status})`, () => {
      assert.ok(Object.hasOwn(FAMILY, e.code), `${e.code} is not classified in this test`);
      const err = errorFromCode(e.code, e.message, { action: e.action });
      assert.equal(err.constructor, FAMILY[e.code]);
      assert.ok(err instanceof IthacaError && err instanceof Error);
      assert.equal(err.name, FAMILY[e.code].name);
      assert.equal(err.code, e.code);
      assert.equal(err.message, e.message);
      assert.equal(err.retryable, e.retryable, "retryable matches the catalog");
      assert.equal(err.action, e.action ?? null);
      // Invariants of the catalog the classification must respect.
      if (e.http_status === 401 || e.http_status === 403) assert.ok(err instanceof AuthError);
      if (e.http_status === 429) assert.ok(err instanceof UsageError);
      if (err instanceof UsageError) assert.equal(e.http_status, 429);
    });
  }
});

describe("errorFromCode", () => {
  test("Odyssey-only usage codes", () => {
    assert.ok(errorFromCode("MONTHLY_LIMIT_REACHED") instanceof MonthlyLimitReachedError);
    assert.ok(errorFromCode("STREAM_DURATION_EXCEEDED") instanceof StreamDurationExceededError);
    assert.ok(errorFromCode("ACCOUNT_SUSPENDED") instanceof AccountSuspendedError);
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
