// This SDK against the official one's real public surface: @odysseyml/odyssey (an exact-version
// devDependency) is imported for its runtime exports, and its type declarations are read for
// its exported types and its classes' public members. README.md's migration table must list
// every one of them and name, for each, something this SDK has.
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";

import * as official from "@odysseyml/odyssey";
import * as browser from "../src/index.js";
import * as server from "../src/server.js";

const officialDist = path.dirname(fileURLToPath(import.meta.resolve("@odysseyml/odyssey")));
const officialTypes = readdirSync(officialDist)
  .filter((f) => f.endsWith(".d.ts"))
  .map((f) => readFileSync(path.join(officialDist, f), "utf8"))
  .join("\n");
const officialIndexTypes = readFileSync(path.join(officialDist, "index.d.ts"), "utf8");
const srcDir = new URL("../src/", import.meta.url);
const ourTypes = readdirSync(srcDir)
  .filter((f) => f.endsWith(".d.ts"))
  .map((f) => readFileSync(new URL(f, srcDir), "utf8"))
  .join("\n");
const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");

/** Every name the official main entry exports, types included (`export { a as B, type C }`). */
function officialExportNames() {
  const names = new Set(Object.keys(official));
  for (const [, list] of officialIndexTypes.matchAll(/^export \{([^}]*)\}/gm)) {
    for (const item of list.split(",")) {
      const name = item
        .trim()
        .split(/\s+as\s+/)
        .pop()
        .replace(/^type\s+/, "");
      if (name) names.add(name);
    }
  }
  return names;
}

/** The public members of `declare class Name {...}` in the official declarations. */
function publicMembers(className) {
  const body = officialTypes.match(new RegExp(`declare class ${className} \\{([\\s\\S]*?)\\n\\}`));
  assert.ok(body, `no declare class ${className} in the official declarations`);
  const members = new Map(); // name -> "static" | "instance"
  let depth = 0;
  for (const line of body[1].split("\n")) {
    const trimmed = line.trim();
    if (depth === 0 && !/^(private|protected|\/\*|\*)/.test(trimmed)) {
      const m = trimmed.match(
        /^(static\s+)?(?:readonly\s+)?(?:get\s+)?([A-Za-z_$][\w$]*)\s*[(:<?]/,
      );
      if (m && m[2] !== "constructor") members.set(m[2], m[1] ? "static" : "instance");
    }
    depth += (line.match(/[{(]/g) ?? []).length - (line.match(/[})]/g) ?? []).length;
  }
  return members;
}

const hasType = (name) =>
  new RegExp(`\\b(?:interface|type|class|function)\\s+${name}\\b|\\bas ${name}\\b`).test(ourTypes);

function hasMember(Class, name, kind) {
  return kind === "static" ? name in Class : name in Class.prototype;
}

describe("the official SDK's public surface exists here", () => {
  test("every runtime export, in both entries, of the same kind", () => {
    for (const [name, value] of Object.entries(official)) {
      for (const [entry, mod] of [
        ["@ithaca/sdk", browser],
        ["@ithaca/sdk/server", server],
      ]) {
        assert.ok(name in mod, `${entry} lacks ${name}`);
        assert.equal(typeof mod[name], typeof value, `${entry} ${name}`);
      }
    }
  });

  test("every exported type", () => {
    const missing = [...officialExportNames()].filter((n) => !(n in browser) && !hasType(n));
    assert.deepEqual(missing, []);
  });

  for (const [officialClass, ours] of [
    ["Odyssey", [browser.Odyssey, server.Odyssey]],
    ["SpectatorConnection", [browser.SpectatorConnection]],
  ]) {
    test(`every public member of ${officialClass}`, () => {
      const members = publicMembers(officialClass);
      assert.ok(members.size > 3, `read too few members of ${officialClass}`);
      for (const [name, kind] of members) {
        for (const Class of ours)
          assert.ok(hasMember(Class, name, kind), `${officialClass}.${name}`);
      }
    });
  }

  test("the error classes keep the official hierarchy", () => {
    assert.ok(new server.OdysseyAuthError("x") instanceof server.OdysseyError);
    for (const name of ["MonthlyLimitReachedError", "RateLimitError", "AccountSuspendedError"]) {
      assert.ok(server[name].prototype instanceof server.OdysseyUsageError, name);
      assert.ok(official[name].prototype instanceof official.OdysseyUsageError, name);
    }
  });
});

// ---- README.md's migration table ----

function migrationRows() {
  const section = readme.split("## Moving from the official Odyssey SDK")[1];
  assert.ok(section, "README.md lacks '## Moving from the official Odyssey SDK'");
  const table = section.split("\n## ")[0];
  const rows = new Map();
  for (const m of table.matchAll(/^\|\s*`([^`]+)`\s*\|\s*(?:`([^`]+)`)?[^|]*\|/gm)) {
    rows.set(m[1], m[2] ?? null);
  }
  return rows;
}

/** An `ours` cell: a runtime export, `Class.member` of one, or a declared type. */
function oursExists(cell) {
  const [head, member] = cell.replace(/\(\)$/, "").split(".");
  if (member === undefined) return head in server || hasType(head);
  const value = server[head];
  return value !== undefined && (member in value || member in (value.prototype ?? {}));
}

describe("README.md's migration table", () => {
  test("lists every official name and public member", () => {
    const rows = migrationRows();
    const wanted = [...officialExportNames()];
    for (const cls of ["Odyssey", "SpectatorConnection"]) {
      for (const name of publicMembers(cls).keys()) wanted.push(`${cls}.${name}`);
    }
    assert.deepEqual(
      wanted.filter((n) => !rows.has(n)),
      [],
    );
  });

  test("names, for each, what this SDK has", () => {
    for (const [officialName, ours] of migrationRows()) {
      if (ours !== null) assert.ok(oursExists(ours), `${officialName} -> ${ours}`);
    }
  });

  test("says which version of the official SDK it was checked against", () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
    const version = pkg.devDependencies["@odysseyml/odyssey"];
    assert.match(version, /^\d+\.\d+\.\d+$/, "an exact version");
    assert.ok(readme.includes(`@odysseyml/odyssey@${version}`), "README names the version");
  });
});

describe("the compatibility helpers behave like the official ones", () => {
  const token = (claims) =>
    ["e30", Buffer.from(JSON.stringify(claims)).toString("base64url"), "sig"].join(".");

  test("createClientCredentials(parts) builds credentials, in both entries", () => {
    for (const mod of [browser, server]) {
      const c = mod.createClientCredentials("ws://h/s", token({ session_id: "ses_1" }), 600, {
        image_to_video: true,
      });
      assert.equal(c.sessionId, "ses_1");
      assert.equal(c.signalingUrl, "ws://h/s");
      assert.equal(c.expiresIn, 600);
      assert.equal(c.capabilities.image_to_video, true);
    }
  });

  test("throwIfUsageError: 429 with message and action throws the code's class", () => {
    const body = { error: "CONCURRENT_LIMIT_REACHED", message: "m", action: "a", details: {} };
    assert.throws(
      () => browser.throwIfUsageError(429, body),
      (e) => e instanceof browser.ConcurrentLimitReachedError && e.action === "a",
    );
    assert.throws(
      () => browser.throwIfUsageError(429, { detail: { ...body, error: "RATE_LIMITED" } }),
      browser.RateLimitError,
    );
    assert.throws(
      () => browser.throwIfUsageError(429, { code: "SOMETHING_NEW", message: "m", action: "a" }),
      (e) => e.constructor === browser.OdysseyUsageError && e.code === "SOMETHING_NEW",
    );
    assert.equal(browser.throwIfUsageError(400, body), undefined);
    assert.equal(browser.throwIfUsageError(429, { message: "no action" }), undefined);
  });

  test("hosted-only calls reject with not_supported", async () => {
    const client = new browser.Odyssey();
    for (const call of ["getRecording", "listStreamRecordings", "simulate", "cancelSimulation"]) {
      await assert.rejects(
        client[call]("x"),
        (e) => e instanceof browser.RequestError && e.code === "not_supported",
      );
    }
  });

  test("the official getters exist before any connection", () => {
    const client = new browser.Odyssey();
    assert.equal(client.currentStatus, "disconnected");
    assert.equal(client.currentSessionId, null);
    assert.equal(client.connectionState, null);
    assert.equal(client.iceConnectionState, null);
    assert.equal(client.lastAppliedPrompt, null);
  });

  test("lastAppliedPrompt follows stream_started's applied_prompt, then each ack", () => {
    const client = new browser.Odyssey();
    client._onEvent(
      JSON.stringify({ type: "stream_started", stream_id: "s", applied_prompt: "p1" }),
    );
    assert.equal(client.lastAppliedPrompt, "p1");
    client._onEvent(JSON.stringify({ type: "update_acknowledged", prompt: "p2" }));
    assert.equal(client.lastAppliedPrompt, "p2");
  });
});
