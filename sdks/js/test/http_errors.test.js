// spec/vectors/http_errors.json: every error answer decodes to the error its case expects, through
// createClientCredentials with a stubbed fetch.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { afterEach, describe, test } from "node:test";

import * as sdk from "../src/server.js";

const vectors = JSON.parse(
  readFileSync(new URL("../../../spec/vectors/http_errors.json", import.meta.url), "utf8"),
).cases;

const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

describe("spec/vectors/http_errors.json", () => {
  test("has cases, some written by Ithaca's server", () => {
    assert.ok(vectors.length >= 20, `only ${vectors.length} cases`);
    assert.ok(vectors.some((v) => v.server !== undefined));
  });

  for (const v of vectors) {
    test(v.id, async () => {
      const { status, headers, body } = v.response;
      globalThis.fetch = async () =>
        new Response(body, { status, headers: { "Content-Type": "application/json", ...headers } });
      const e = v.expect;
      await assert.rejects(
        sdk.createClientCredentials({ apiKey: "ith_test_0123456789abcdef", apiUrl: "http://api" }),
        (err) => {
          assert.equal(err.constructor, sdk[e.family], `expected ${e.family}, got ${err}`);
          assert.ok(err instanceof sdk.IthacaError);
          assert.equal(err.code, e.code);
          assert.equal(err.message, e.message);
          assert.equal(err.retryable, e.retryable);
          assert.equal(err.action, e.action);
          assert.deepEqual(err.details, e.details);
          assert.equal(err.status, e.status);
          if (err instanceof sdk.RateLimitError) {
            assert.equal(err.retryAfterSeconds, e.details.retry_after_seconds ?? null);
          }
          return true;
        },
      );
    });
  }
});
