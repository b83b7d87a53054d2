import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import {
  CredentialsError,
  IthacaError,
  credentialsFromDict,
  credentialsToDict,
  credentialsToJSON,
  extractSessionId,
} from "../src/index.js";

const vectors = JSON.parse(
  readFileSync(new URL("../../../spec/vectors/credentials.json", import.meta.url), "utf8"),
);

// The SDK never verifies a token (the server does); of spec/vectors/tokens.json it reads only what
// an unverified read gives: each case's unverified_session_id (null: extractSessionId refuses).
const tokenVectors = JSON.parse(
  readFileSync(new URL("../../../spec/vectors/tokens.json", import.meta.url), "utf8"),
).cases;

const b64url = (s) => Buffer.from(s, "utf8").toString("base64url");
const token = (payload) => `${b64url('{"alg":"HS256"}')}.${payload}.sig`;
const jsonToken = (claims) => token(b64url(JSON.stringify(claims)));

function assertCredentialsError(fn, code, field) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof CredentialsError, `expected CredentialsError, got ${e}`);
    assert.ok(e instanceof IthacaError);
    assert.equal(e.code, code);
    assert.equal(e.field, field);
    assert.equal(e.retryable, false);
    return true;
  });
}

describe("spec/vectors/credentials.json", () => {
  test("has cases", () => {
    assert.ok(vectors.cases.length >= 19, `only ${vectors.cases.length} cases`);
  });

  for (const v of vectors.cases) {
    // A case with `readers` applies to those readers only; every listed here includes js.
    const forJs = v.readers === undefined || v.readers.includes("js");
    test(`${v.id}: ${v.description}`, { skip: !forJs && "not a js reader case" }, () => {
      if (v.expect.error !== undefined) {
        assertCredentialsError(() => credentialsFromDict(v.input), v.expect.error, v.expect.field);
        return;
      }
      const c = credentialsFromDict(v.input);
      assert.ok(Object.isFrozen(c), "credentials are frozen");
      assert.ok(Object.isFrozen(c.capabilities), "capabilities are frozen");
      assert.equal(c.sessionId, v.expect.object.session_id);
      const dict = credentialsToDict(c);
      assert.deepEqual(dict, v.expect.object);
      assert.deepEqual(Object.keys(dict), [
        "session_id",
        "signaling_url",
        "session_token",
        "expires_in",
        "capabilities",
      ]);
      assert.equal(credentialsToJSON(c), v.expect.json);
      // Writers: expect.object itself, read back, writes the same bytes.
      assert.equal(credentialsToJSON(credentialsFromDict(v.expect.object)), v.expect.json);
    });
  }
});

describe("credentials object", () => {
  const good = vectors.cases.find((v) => v.id === "snake_case_roundtrip").input;

  test("is frozen: assignments throw in strict mode", () => {
    const c = credentialsFromDict(good);
    assert.throws(() => {
      c.sessionId = "ses_other";
    }, TypeError);
    assert.throws(() => {
      c.capabilities.image_to_video = true;
    }, TypeError);
  });

  test("does not share the input's capabilities object", () => {
    const input = structuredClone(good);
    const c = credentialsFromDict(input);
    input.capabilities.image_to_video = true;
    assert.equal(c.capabilities.image_to_video, false);
    const dict = credentialsToDict(c);
    dict.capabilities.image_to_video = true;
    assert.equal(c.capabilities.image_to_video, false);
  });

  test("snake_case wins over camelCase when both are present", () => {
    const c = credentialsFromDict({ ...good, signalingUrl: "ws://camel", expiresIn: 1 });
    assert.equal(c.signalingUrl, good.signaling_url);
    assert.equal(c.expiresIn, good.expires_in);
  });

  test("unknown fields are ignored", () => {
    const c = credentialsFromDict({ ...good, region: "eu", streamer_id: "str_1" });
    assert.equal(credentialsToJSON(c), credentialsToJSON(credentialsFromDict(good)));
  });

  test("wrong types name the field", () => {
    assertCredentialsError(
      () => credentialsFromDict({ ...good, expires_in: 600.5 }),
      "wrong_type",
      "expires_in",
    );
    assertCredentialsError(
      () => credentialsFromDict({ ...good, capabilities: [] }),
      "wrong_type",
      "capabilities",
    );
    assertCredentialsError(
      () => credentialsFromDict({ ...good, capabilities: "x" }),
      "wrong_type",
      "capabilities",
    );
    assertCredentialsError(() => credentialsFromDict(null), "wrong_type", "credentials");
    assertCredentialsError(() => credentialsFromDict("{}"), "wrong_type", "credentials");
  });

  test("null counts as missing", () => {
    assertCredentialsError(
      () => credentialsFromDict({ ...good, signaling_url: null }),
      "missing_field",
      "signaling_url",
    );
  });
});

describe("spec/vectors/tokens.json: extractSessionId", () => {
  test("has cases of both outcomes", () => {
    assert.ok(tokenVectors.some((v) => v.unverified_session_id === null));
    assert.ok(tokenVectors.some((v) => typeof v.unverified_session_id === "string"));
  });

  for (const v of tokenVectors) {
    test(v.id, () => {
      if (v.unverified_session_id === null) {
        assertCredentialsError(() => extractSessionId(v.token), "invalid_token", "session_token");
      } else {
        assert.equal(extractSessionId(v.token), v.unverified_session_id);
      }
    });
  }
});

describe("extractSessionId", () => {
  test("reads the claim, ignores unknown claims, decodes UTF-8", () => {
    assert.equal(extractSessionId(jsonToken({ session_id: "ses_1", x: [1] })), "ses_1");
    assert.equal(extractSessionId(jsonToken({ session_id: "ses_é✓" })), "ses_é✓");
    // Payload lengths that need one and two padding characters.
    for (const id of ["a", "ab", "abc", "abcd"]) {
      assert.equal(extractSessionId(jsonToken({ session_id: id })), id);
    }
  });

  const malformed = {
    "two parts": "a.b",
    "four parts": `${jsonToken({ session_id: "s" })}.extra`,
    "one part": "abc",
    "empty string": "",
    "empty payload": "a..c",
    "bad base64 characters": token("@@@"),
    "standard base64 alphabet": token(
      Buffer.from('{"session_id":"s?>"}').toString("base64").replace(/=+$/, ""),
    ),
    padding: token(b64url('{"session_id":"s"}') + "="),
    "impossible length": token("abcde"),
    "invalid UTF-8": token(Buffer.from([0x7b, 0xff, 0x7d]).toString("base64url")),
    "non-JSON payload": token(b64url("not json")),
    "JSON array payload": token(b64url('["session_id"]')),
    "JSON string payload": token(b64url('"ses_1"')),
    "JSON null payload": token(b64url("null")),
    "missing session_id": jsonToken({ account: "acme" }),
    "empty session_id": jsonToken({ session_id: "" }),
    "numeric session_id": jsonToken({ session_id: 42 }),
    "null session_id": jsonToken({ session_id: null }),
    "object session_id": jsonToken({ session_id: { id: "s" } }),
  };
  for (const [name, t] of Object.entries(malformed)) {
    test(`rejects ${name}`, () => {
      assertCredentialsError(() => extractSessionId(t), "invalid_token", "session_token");
    });
  }

  test("rejects a non-string token", () => {
    for (const t of [undefined, null, 42, {}, ["a", "b", "c"]]) {
      assertCredentialsError(() => extractSessionId(t), "invalid_token", "session_token");
    }
  });
});
