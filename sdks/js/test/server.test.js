import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { after, before, describe, test } from "node:test";

import * as browser from "../src/index.js";
import {
  AuthError,
  ConcurrentLimitReachedError,
  ConnectionError,
  IthacaError,
  RateLimitError,
  UsageError,
  createClientCredentials,
  credentialsToJSON,
} from "../src/server.js";

const good = JSON.parse(
  readFileSync(new URL("../../../spec/vectors/credentials.json", import.meta.url), "utf8"),
).cases.find((v) => v.id === "snake_case_roundtrip");

const API_KEY = "ith_test_0123456789abcdef";

// The stub answers what `reply` says and records the last request.
let reply = () => ({ status: 500, body: "" });
let last = null;
let server;
let apiUrl;

before(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      last = { method: req.method, url: req.url, headers: req.headers, body };
      const r = reply(last);
      res.writeHead(r.status, { "Content-Type": "application/json", ...r.headers });
      res.end(typeof r.body === "string" ? r.body : JSON.stringify(r.body));
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  apiUrl = `http://127.0.0.1:${server.address().port}`;
});

after(() => new Promise((resolve) => server.close(resolve)));

const detail = (code, extra = {}) => ({ detail: { code, message: `${code} message`, ...extra } });

async function rejectsWith(promise, Class, check = () => {}) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.constructor, Class, `expected ${Class.name}, got ${e}`);
    assert.ok(e instanceof IthacaError);
    check(e);
    return true;
  });
}

describe("createClientCredentials", () => {
  test("201: POSTs with the key and answers frozen credentials", async () => {
    reply = () => ({ status: 201, body: good.expect.json });
    const c = await createClientCredentials({
      apiKey: API_KEY,
      apiUrl: apiUrl + "/",
      metadata: { user: "alice" },
    });
    assert.equal(last.method, "POST");
    assert.equal(last.url, "/v1/client_credentials");
    assert.equal(last.headers.authorization, `Bearer ${API_KEY}`);
    assert.match(last.headers["content-type"], /^application\/json/);
    assert.deepEqual(JSON.parse(last.body), { metadata: { user: "alice" } });
    assert.ok(Object.isFrozen(c));
    assert.equal(c.sessionId, good.expect.object.session_id);
    assert.equal(credentialsToJSON(c), good.expect.json);
  });

  test("reads ITHACA_API_KEY and ITHACA_API_URL when options are absent", async (t) => {
    reply = () => ({ status: 201, body: good.expect.json });
    const saved = { key: process.env.ITHACA_API_KEY, url: process.env.ITHACA_API_URL };
    t.after(() => {
      for (const [name, v] of [
        ["ITHACA_API_KEY", saved.key],
        ["ITHACA_API_URL", saved.url],
      ]) {
        if (v === undefined) delete process.env[name];
        else process.env[name] = v;
      }
    });
    process.env.ITHACA_API_KEY = "ith_from_env";
    process.env.ITHACA_API_URL = apiUrl;
    const c = await createClientCredentials({ capabilities: { image_to_video: true } });
    assert.equal(last.headers.authorization, "Bearer ith_from_env");
    assert.deepEqual(JSON.parse(last.body), { capabilities: { image_to_video: true } });
    assert.equal(c.sessionId, good.expect.object.session_id);
    // Options win over the environment.
    await createClientCredentials({ apiKey: API_KEY });
    assert.equal(last.headers.authorization, `Bearer ${API_KEY}`);
  });

  test("no API key: AuthError missing_api_key, and no request", async (t) => {
    const saved = process.env.ITHACA_API_KEY;
    t.after(() => {
      if (saved !== undefined) process.env.ITHACA_API_KEY = saved;
    });
    delete process.env.ITHACA_API_KEY;
    last = null;
    await rejectsWith(createClientCredentials({ apiUrl }), AuthError, (e) => {
      assert.equal(e.code, "missing_api_key");
    });
    assert.equal(last, null);
  });

  test("no API URL: TypeError", async (t) => {
    const saved = process.env.ITHACA_API_URL;
    t.after(() => {
      if (saved !== undefined) process.env.ITHACA_API_URL = saved;
    });
    delete process.env.ITHACA_API_URL;
    await assert.rejects(createClientCredentials({ apiKey: API_KEY }), TypeError);
  });

  test("429 CONCURRENT_LIMIT_REACHED: ConcurrentLimitReachedError with details", async () => {
    const action = "End a live session (DELETE /v1/sessions/{id}) or ask the operator.";
    reply = () => ({
      status: 429,
      body: detail("CONCURRENT_LIMIT_REACHED", {
        retryable: true,
        action,
        details: { active_count: 3, limit: 3 },
      }),
    });
    await rejectsWith(
      createClientCredentials({ apiKey: API_KEY, apiUrl }),
      ConcurrentLimitReachedError,
      (e) => {
        assert.ok(e instanceof UsageError);
        assert.equal(e.code, "CONCURRENT_LIMIT_REACHED");
        assert.equal(e.message, "CONCURRENT_LIMIT_REACHED message");
        assert.equal(e.retryable, true);
        assert.equal(e.action, action);
        assert.deepEqual(e.details, { active_count: 3, limit: 3 });
        assert.equal(e.status, 429);
      },
    );
  });

  test("429 RATE_LIMITED: Retry-After fills details.retry_after_seconds", async () => {
    reply = () => ({ status: 429, headers: { "Retry-After": "4" }, body: detail("RATE_LIMITED") });
    await rejectsWith(createClientCredentials({ apiKey: API_KEY, apiUrl }), RateLimitError, (e) => {
      assert.equal(e.retryAfterSeconds, 4);
      assert.equal(e.retryable, true, "catalog default when the body omits retryable");
    });
  });

  test("401 invalid_api_key: AuthError", async () => {
    reply = () => ({ status: 401, body: detail("invalid_api_key", { retryable: false }) });
    await rejectsWith(createClientCredentials({ apiKey: "ith_wrong", apiUrl }), AuthError, (e) => {
      assert.equal(e.code, "invalid_api_key");
      assert.equal(e.status, 401);
      assert.equal(e.retryable, false);
    });
  });

  test("Odyssey's {detail: {error}} spelling is read too", async () => {
    reply = () => ({ status: 403, body: { detail: { error: "forbidden", message: "no" } } });
    await rejectsWith(createClientCredentials({ apiKey: API_KEY, apiUrl }), AuthError, (e) => {
      assert.equal(e.code, "forbidden");
    });
  });

  test("an error body not in Ithaca's shape is classified by status", async () => {
    reply = () => ({ status: 401, body: "<html>nope</html>" });
    await rejectsWith(createClientCredentials({ apiKey: API_KEY, apiUrl }), AuthError, (e) => {
      assert.equal(e.code, "http_401");
    });
    reply = () => ({ status: 502, body: { detail: "bad gateway" } });
    await rejectsWith(
      createClientCredentials({ apiKey: API_KEY, apiUrl }),
      ConnectionError,
      (e) => {
        assert.equal(e.code, "http_502");
        assert.equal(e.retryable, true);
      },
    );
    reply = () => ({ status: 429, body: "" });
    await rejectsWith(createClientCredentials({ apiKey: API_KEY, apiUrl }), UsageError);
  });

  test("a 201 body that is not JSON: IthacaError invalid_response", async () => {
    reply = () => ({ status: 201, body: "not json" });
    await rejectsWith(createClientCredentials({ apiKey: API_KEY, apiUrl }), IthacaError, (e) => {
      assert.equal(e.code, "invalid_response");
    });
  });

  test("network failure: ConnectionError, retryable", async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const deadUrl = `http://127.0.0.1:${probe.address().port}`;
    await new Promise((resolve) => probe.close(resolve));
    await rejectsWith(
      createClientCredentials({ apiKey: API_KEY, apiUrl: deadUrl }),
      ConnectionError,
      (e) => {
        assert.equal(e.code, "network_error");
        assert.equal(e.retryable, true);
        assert.ok(e.cause, "keeps the fetch error as cause");
        assert.ok(!e.message.includes(API_KEY), "the key is not in the message");
      },
    );
  });
});

describe("entry points", () => {
  test("the browser entry has no way to take an API key", () => {
    // Its createClientCredentials is the official SDK's: it builds credentials from their
    // parts (no key, no request); minting is the server entry's.
    assert.equal(browser.createClientCredentials, browser.credentialsFromParts);
    assert.equal(browser.mintClientCredentials, undefined);
    const files = ["index.js", "credentials.js", "errors.js", "client.js", "odyssey-compat.js"];
    for (const file of [...files, "debug.js", "hosted-only.js", "spectator.js"]) {
      const src = readFileSync(new URL(`../src/${file}`, import.meta.url), "utf8");
      assert.doesNotMatch(src, /process\.|Buffer|apiKey|ITHACA_API_KEY|from "node:/, file);
    }
  });

  test("the server entry re-exports everything of the browser entry", async () => {
    const server = await import("../src/server.js");
    for (const name of Object.keys(browser)) {
      // Its Ithaca (and Odyssey, the same) is the browser client plus connect() with a key;
      // its createClientCredentials also mints.
      if (name === "Ithaca" || name === "Odyssey") {
        assert.ok(server[name].prototype instanceof browser.Ithaca, name);
      } else if (name !== "createClientCredentials") {
        assert.equal(server[name], browser[name], name);
      }
    }
    assert.equal(server.Odyssey, server.Ithaca);
  });

  test("package.json exports resolve", async () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
    assert.equal(pkg.name, "@ithaca/sdk");
    const self = await import("@ithaca/sdk");
    const selfServer = await import("@ithaca/sdk/server");
    assert.equal(self.credentialsFromDict, browser.credentialsFromDict);
    assert.equal(typeof selfServer.createClientCredentials, "function");
    for (const entry of Object.values(pkg.exports)) {
      if (typeof entry === "object") readFileSync(new URL(`../${entry.types}`, import.meta.url));
    }
  });
});

describe("Ithaca (server entry): connect() with an API key", () => {
  test("mints with the key, then needs WebRTC, which Node lacks: a clear ConnectionError", async () => {
    const { Ithaca } = await import("../src/server.js");
    reply = () => ({ status: 201, body: good.input });
    const client = new Ithaca({ apiKey: API_KEY, apiUrl });
    await rejectsWith(client.connect(), ConnectionError, (e) => {
      assert.equal(e.code, "webrtc_unavailable");
      assert.equal(e.retryable, false);
    });
    assert.equal(last.url, "/v1/client_credentials");
    assert.equal(last.headers.authorization, `Bearer ${API_KEY}`);
  });

  test("a key given to the client in a browser page is warned about", async () => {
    const { Ithaca } = await import("../src/server.js");
    const warnings = [];
    const warn = console.warn;
    globalThis.window = {};
    console.warn = (m) => warnings.push(String(m));
    try {
      new Ithaca({ apiKey: API_KEY, apiUrl });
      new Ithaca({ apiUrl });
    } finally {
      console.warn = warn;
      delete globalThis.window;
    }
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /API key is in a browser page/);
    assert.ok(!warnings[0].includes(API_KEY), "the warning must not print the key");
  });

  test("the browser entry's connect() takes no key: it rejects before any request", async () => {
    const client = new browser.Ithaca({ apiKey: "ody_should_not_be_used" });
    for (const call of [() => client.connect(), () => client.createClientCredentials()]) {
      await assert.rejects(call(), (e) => e instanceof AuthError && e.code === "missing_api_key");
    }
  });
});

describe("models", () => {
  test("mintClientCredentials sends model only when given", async () => {
    const { mintClientCredentials } = await import("../src/server.js");
    reply = () => ({ status: 201, body: good.expect.json });
    await mintClientCredentials({ apiKey: API_KEY, apiUrl, model: "my-world" });
    assert.deepEqual(JSON.parse(last.body), { model: "my-world" });
    await mintClientCredentials({ apiKey: API_KEY, apiUrl });
    assert.deepEqual(JSON.parse(last.body), {});
  });

  test("unknown_model rejects with a RequestError", async () => {
    const { mintClientCredentials, RequestError } = await import("../src/server.js");
    reply = () => ({ status: 400, body: detail("unknown_model") });
    await rejectsWith(
      mintClientCredentials({ apiKey: API_KEY, apiUrl, model: "x" }),
      RequestError,
      (e) => assert.equal(e.code, "unknown_model"),
    );
  });

  test("listModels GETs /v1/models with the key, on the function and the client", async () => {
    const { listModels, Ithaca } = await import("../src/server.js");
    const answer = { models: [{ name: "my-world", capacity: 2 }], default: null };
    reply = () => ({ status: 200, body: answer });
    assert.deepEqual(await listModels({ apiKey: API_KEY, apiUrl }), answer);
    assert.equal(last.method, "GET");
    assert.equal(last.url, "/v1/models");
    assert.equal(last.headers.authorization, `Bearer ${API_KEY}`);
    assert.equal(last.body, "");
    assert.deepEqual(await new Ithaca({ apiKey: API_KEY, apiUrl }).listModels(), answer);
    reply = () => ({ status: 200, body: { nope: 1 } });
    await rejectsWith(listModels({ apiKey: API_KEY, apiUrl }), IthacaError);
  });
});
