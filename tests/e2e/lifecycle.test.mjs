// Token expiry and unclean drops, against a node with short tokens (TTL_S seconds, no leeway)
// and a fast sweeper: a browser that dies without disconnecting leaves its session resumable
// with the same credentials until the token expires, then the session ends; an expired token
// is refused with its reason.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { cleanup, drive, launchBrowser, openClientPage, startServer } from "./lib/harness.mjs";

// Long enough for two browser connects on a loaded 2-core machine, short enough to wait out.
const TTL_S = 12;

let server;
let early; // minted first, so that it has expired when the last test uses it
let earlyAt;

before(async () => {
  server = await startServer({
    env: {
      ITHACA_TOKENS_TTL_SECONDS: String(TTL_S),
      ITHACA_TOKENS_LEEWAY_SECONDS: "0",
      ITHACA_SESSIONS_SWEEP_INTERVAL_MS: "100",
    },
  });
  earlyAt = Date.now();
  early = await server.mint({ test: "expired" });
});
after(cleanup);

async function waitState(id, state, timeoutMs) {
  const t0 = Date.now();
  for (;;) {
    const s = await server.session(id);
    if (s.state === state || Date.now() - t0 > timeoutMs) return s;
    await sleep(50);
  }
}

test("a browser killed without disconnecting leaves the session resumable until expiry", async () => {
  const mintedAt = Date.now();
  const creds = await server.mint({ test: "resume" });
  const expiresAt = mintedAt + TTL_S * 1000;

  const first = await launchBrowser();
  const page1 = await openClientPage(first, server);
  const r1 = await drive(page1, "connect", "a", creds);
  assert.ok(r1.ok, `connect failed: ${JSON.stringify(r1)}\n${server.log()}`);
  assert.ok((await drive(page1, "waitFrames", "a", 1, 10_000)).ok, "no frames");
  // The second browser starts before the first dies, to save time.
  const second = await launchBrowser();
  const page2 = await openClientPage(second, server);

  await first.close(); // no client_disconnecting, no close 1000: an unclean drop
  const dropped = await waitState(creds.session_id, "dropped", 5_000);
  assert.equal(dropped.state, "dropped", `${JSON.stringify(dropped)}\n${server.log()}`);
  assert.equal(await server.activeCount(), 2, "a dropped session keeps its slot (+ the early one)");

  const r2 = await drive(page2, "connect", "a", creds);
  assert.ok(Date.now() < expiresAt, "too slow: the token expired before the reconnect");
  assert.ok(
    r2.ok,
    `reconnect with the same credentials failed: ${JSON.stringify(r2)}\n${server.log()}`,
  );
  assert.ok((await drive(page2, "waitFrames", "a", 1, 10_000)).ok, "no frames after resuming");
  assert.equal((await server.session(creds.session_id)).state, "connected");

  await second.close();
  assert.equal((await waitState(creds.session_id, "dropped", 5_000)).state, "dropped");
  // Not before the token expires (slack: the JWT exp has a 1 s resolution), then promptly.
  const ended = await waitState(creds.session_id, "ended", expiresAt - Date.now() + 3_000);
  assert.equal(ended.state, "ended", `still ${ended.state} after expiry\n${server.log()}`);
  assert.ok(Date.now() >= expiresAt - 1100, "ended before the token expired");
  assert.equal(ended.end_cause, "token_expired");
  assert.equal(await server.activeCount(), 1, "only the early session should still hold a slot");
});

test("an expired token is refused with its reason", async () => {
  const wait = earlyAt + TTL_S * 1000 + 1100 - Date.now(); // exp has 1 s resolution
  if (wait > 0) await sleep(wait);
  const page = await openClientPage(await launchBrowser(), server);
  const r = await drive(page, "connect", "late", early);
  assert.equal(r.ok, false, "an expired token connected");
  assert.equal(r.code, "token_expired", JSON.stringify(r));
  assert.equal(r.closeCode, 4401);
  const info = await drive(page, "info", "late");
  assert.deepEqual(
    info.errors.map((e) => [e.code, e.fatal]),
    [["token_expired", true]],
    "refused at once, no reconnect attempt",
  );
  assert.equal(info.status, "failed");
});
