// The demo page itself, as a person uses it: it gets credentials from POST /dev/credentials,
// connects on load, and its buttons start, steer, end and disconnect a stream.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { cleanup, launchBrowser, startServer } from "./lib/harness.mjs";

let server;
let page;

before(async () => {
  server = await startServer();
  const browser = await launchBrowser();
  page = await browser.newPage();
});
after(cleanup);

const log = () => page.locator("#log").innerText();

async function waitLog(pattern, timeout = 10_000) {
  try {
    await page.waitForFunction(
      (source) => new RegExp(source).test(document.getElementById("log").innerText),
      pattern.source,
      { timeout },
    );
  } catch (e) {
    throw new Error(`the log never showed ${pattern}: ${e.message}\n${await log()}`);
  }
}

test("POST /dev/credentials answers credentials without an API key, marked dev-only", async () => {
  const r = await server.api(
    "POST",
    "/dev/credentials",
    { metadata: { user: "demo" } },
    { key: "" },
  );
  assert.equal(r.status, 201, r.text);
  assert.equal(r.headers.get("x-ithaca-dev-only"), "true");
  assert.deepEqual(Object.keys(r.body), [
    "session_id",
    "signaling_url",
    "session_token",
    "expires_in",
    "capabilities",
  ]);
  const session = await server.session(r.body.session_id);
  assert.equal(session.metadata.user, "demo");
  await server.api("DELETE", `/v1/sessions/${r.body.session_id}`);
});

test("the demo page connects on load and plays video", async () => {
  await page.goto(server.url);
  try {
    await page.waitForFunction(
      () => /frames decoded [1-9]/.test(document.getElementById("status").innerText),
      null,
      { timeout: 15_000 },
    );
  } catch (e) {
    throw new Error(`no video: ${e.message}\n${await log()}\n${server.log()}`);
  }
  assert.match(await page.locator("#dev-banner").innerText(), /DEV MODE/);
  assert.match(await page.locator("#status").innerText(), /^connected \| session ses_/);
});

test("a broadcast from the demo page plays on its watch page", async () => {
  await page.check("#broadcast");
  await page.click("#start");
  await waitLog(/"type":"broadcast_ready"/);
  const href = await page.locator("#watch-link").getAttribute("href");
  assert.match(href, /^watch\.html#webrtc=/);
  const watcher = await page.context().newPage();
  try {
    await watcher.goto(new URL(href, server.url).href);
    await watcher.waitForFunction(
      () => {
        const v = document.getElementById("video");
        return v.getVideoPlaybackQuality?.().totalVideoFrames > 0 || v.currentTime > 0;
      },
      null,
      { timeout: 15_000 },
    );
    assert.equal(await watcher.locator("#state").innerText(), "connected");
    assert.equal(await server.activeCount(), 1, "a spectator holds no slot");
  } finally {
    await watcher.close();
  }
  await page.click("#end");
  await waitLog(/"type":"stream_ended"/);
  await page.uncheck("#broadcast");
});

test("the buttons start, steer, end and disconnect", async () => {
  await page.fill("#prompt", "a red balloon");
  await page.press("#prompt", "Enter"); // no stream yet: Enter starts one
  await waitLog(/"type":"stream_started"/);
  await page.fill("#prompt", "the balloon pops");
  await page.click("#interact");
  await waitLog(/(?=.*update_acknowledged)(?=.*"the balloon pops")/);
  await page.click("#end");
  await waitLog(/"type":"stream_ended"/);
  await page.click("#disconnect");
  await waitLog(/disconnected clean=true/);
  assert.doesNotMatch(await log(), /failed/);
  await server.waitFor(
    "the slot to be free",
    1_000,
    async () => (await server.activeCount()) === 0,
  );
});
