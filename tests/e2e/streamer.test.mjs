// A streamer that dies: `ithaca server --dev --no-local-streamer` with a separate
// `ithaca streamer` process, SIGKILLed while a browser watches. The page must hear
// streamer_disconnected (close 4502), and the session must end with that cause.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import {
  cleanup,
  drive,
  launchBrowser,
  openClientPage,
  startServer,
  startStreamer,
} from "./lib/harness.mjs";

let server;
let streamer;
let page;

before(async () => {
  server = await startServer({ localStreamer: false });
  streamer = startStreamer(server, { id: "str_e2e_kill" });
  page = await openClientPage(await launchBrowser(), server);
});
after(cleanup);

test("killing the streamer gives the page streamer_disconnected", async () => {
  const creds = await server.mint({ test: "streamer-kill" }); // retries until it registered
  const r = await drive(page, "connect", "a", creds);
  assert.ok(r.ok, `connect failed: ${JSON.stringify(r)}\n${server.log()}\n${streamer.log()}`);
  assert.ok((await drive(page, "waitFrames", "a", 5, 10_000)).ok, "no frames");
  const session = await server.session(creds.session_id);
  assert.equal(session.streamer_id, "str_e2e_kill");

  await streamer.kill("SIGKILL");
  let info;
  const t0 = Date.now();
  do {
    await sleep(50);
    info = await drive(page, "info", "a");
  } while (info.status !== "failed" && Date.now() - t0 < 5_000);
  assert.equal(info.status, "failed", `still ${info.status}\n${server.log()}`);
  assert.deepEqual(
    info.errors.map((e) => [e.code, e.fatal]),
    [["streamer_disconnected", true]],
    "a fatal error: the SDK does not reconnect to an ended session",
  );
  assert.equal(info.disconnects.length, 1);
  assert.equal(info.disconnects[0].code, "streamer_disconnected");
  assert.equal(info.disconnects[0].closeCode, 4502);
  assert.equal(info.disconnects[0].clean, false);

  // The session ended with that cause and its slot is free.
  const ended = await server.waitFor("the session to end", 2_000, async () => {
    const s = await server.session(creds.session_id);
    return s.state === "ended" ? s : null;
  });
  assert.equal(ended.end_cause, "streamer_disconnected");
  assert.equal(await server.activeCount(), 0);
  // A command on the dead client is refused at once, not left hanging.
  const late = await drive(page, "call", "a", "interact", { prompt: "anyone?" });
  assert.equal(late.ok, false);
  assert.equal(late.code, "not_connected");
});
