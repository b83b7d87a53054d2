// Time to first frame in headless Chromium, against `ithaca server --dev` (its in-process
// streamer), over --runs connects per client, each on fresh credentials: connect, measure, hold,
// clean disconnect, next. Two clients, on the same server and browser, in one run:
//
//   raw  the demo page's own client (web/demo/ithaca-client.js, driven by tests/e2e/lib/driver.js
//        on the server's origin), with its phases: from `new WebSocket` to the first presented
//        frame (requestVideoFrameCallback's presentationTime, page's performance.now() clock);
//   sdk  the JS SDK's `Ithaca` (sdks/js/src, unbundled, from a page on another origin served by a
//        Node http server, as an app would load it): from just before connectWithCredentials to
//        the first frame presented in a <video> given to attachToVideo.
//
// Both are compared on "connect call to first frame" (each includes its GET /config). With
// --client both (the default) the connects alternate raw/sdk, sdk/raw, ... so the machine's noise
// lands on both alike; the result has both summaries and the ratio sdk/raw (target <= 1.10).
//
//   node bench/streaming/ttff.mjs [--client raw|sdk|both] [--runs 20] [--warmup 1]
//                                [--hold-ms 1500] [--gap-ms 500] [--out DIR]
//
// A connect that fails is counted and retried (up to --runs failures per client); the failures
// are reported, since a failed connect is a bug worth knowing about.
import { setTimeout as sleep } from "node:timers/promises";

import {
  cleanup,
  drive,
  launchBrowser,
  openClientPage,
  serveOtherOrigin,
  startServer,
} from "../../tests/e2e/lib/harness.mjs";
import { flags, printTable, summarize, writeResult } from "./lib.mjs";

// --hold-ms: how long each session stays up after its first frame; --gap-ms: pause between a
// disconnect and the next connect, as a person reconnecting would.
const args = flags(
  { runs: 20 },
  {
    client: { type: "string", default: "both" },
    warmup: { type: "string", default: "1" },
    "gap-ms": { type: "string", default: "500" },
    "hold-ms": { type: "string", default: "1500" },
  },
);
if (!["raw", "sdk", "both"].includes(args.client)) {
  console.error(`--client must be raw, sdk or both (not ${args.client})`);
  process.exit(2);
}
const CLIENTS = args.client === "both" ? ["raw", "sdk"] : [args.client];
const TARGET_RATIO = 1.1; // the SDK within 10 % of the raw client

const PHASES = [
  ["wsOpen", "WebSocket open"],
  ["offer", "offer received"],
  ["answer", "answer sent"],
  ["peerConnected", "ICE + DTLS connected"],
  ["connected", "video track + clientToStreamer open"],
  ["firstFrame", "first frame presented (TTFF)"],
];
const SDK_PHASES = [
  ["config", "GET /config done (status connecting)"],
  ["connected", "connectWithCredentials resolved"],
  ["fromConnectCall", "connectWithCredentials call to first frame"],
];

// ---- the raw client: the demo page's IthacaClient, through the e2e driver ----

async function onceRaw(page, server, name) {
  const creds = await server.mint({ bench: "ttff", client: "raw" });
  const r = await drive(page, "connect", name, creds);
  if (!r.ok) throw new Error(`connect failed: ${JSON.stringify(r)}\n${server.log()}`);
  let info;
  const t0 = Date.now();
  do {
    info = await drive(page, "info", name);
    if (!info.firstFrame) await sleep(20);
  } while (!info.firstFrame && Date.now() - t0 < 10_000);
  if (!info.firstFrame) throw new Error("no frame within 10 s");
  const t = info.timing;
  const sample = { firstFrame: info.firstFrame.presentationTime - t.wsCreate };
  for (const [key] of PHASES) if (key !== "firstFrame") sample[key] = (t[key] ?? NaN) - t.wsCreate;
  sample.fromConnectCall = info.firstFrame.presentationTime - t.connectStart;
  await sleep(Number(args["hold-ms"]));
  await drive(page, "call", name, "disconnect");
  await drive(page, "remove", name);
  return sample;
}

// ---- the SDK: sdks/js/src unbundled, on another origin ----

const SDK_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"></head><body>
<script type="module">
import { Ithaca } from "/sdk/index.js";
const live = new Map(); // name -> {client, video}
// Resolves at the first presented frame (or fails after timeoutMs); all times on this page's
// performance.now() clock, from just before connectWithCredentials.
window.ttff = async (name, creds, timeoutMs) => {
  const video = document.createElement("video");
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  document.body.append(video);
  const client = new Ithaca();
  live.set(name, { client, video });
  const t = {};
  const frame = new Promise((resolve) =>
    video.requestVideoFrameCallback((now, m) => resolve(m.presentationTime ?? now)),
  );
  const handlers = {
    onStatusChange: (s) => {
      if (s === "connecting") t.config ??= performance.now();
    },
  };
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error("no frame within " + timeoutMs + " ms")), timeoutMs);
  });
  try {
    t.start = performance.now();
    await Promise.race([client.connectWithCredentials(creds, handlers), timeout]);
    t.connected = performance.now();
    client.attachToVideo(video);
    t.firstFrame = await Promise.race([frame, timeout]);
    return { ok: true, t, visibility: document.visibilityState };
  } catch (e) {
    return { ok: false, code: e?.code, message: String(e?.message ?? e), status: client.status };
  } finally {
    clearTimeout(timer);
  }
};
window.done = async (name) => {
  const e = live.get(name);
  if (!e) return;
  live.delete(name);
  await e.client.disconnect();
  e.video.srcObject = null;
  e.video.remove();
};
window.ready = true;
</script></body></html>`;

async function openSdkPage(context) {
  const origin = await serveOtherOrigin(SDK_PAGE);
  const page = await context.newPage();
  page.consoleLines = [];
  page.on("console", (m) => page.consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => page.consoleLines.push(`pageerror: ${e.message}`));
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => window.ready === true);
  return page;
}

async function onceSdk(page, server, name) {
  const creds = await server.mint({ bench: "ttff", client: "sdk" });
  const r = await page.evaluate(([n, c]) => window.ttff(n, c, 10_000), [name, creds]);
  if (!r.ok) {
    await page.evaluate((n) => window.done(n), name).catch(() => {});
    throw new Error(`sdk connect failed: ${JSON.stringify(r)}\n${server.log()}`);
  }
  const t = r.t;
  const sample = {
    config: t.config - t.start,
    connected: t.connected - t.start,
    fromConnectCall: t.firstFrame - t.start,
    fromWebSocket: t.firstFrame - t.config, // status connecting: just before new WebSocket
  };
  await sleep(Number(args["hold-ms"]));
  await page.evaluate((n) => window.done(n), name);
  return sample;
}

// ---- the run ----

try {
  const server = await startServer();
  const context = await launchBrowser();
  const pages = {};
  if (CLIENTS.includes("raw")) pages.raw = await openClientPage(context, server);
  if (CLIENTS.includes("sdk")) pages.sdk = await openSdkPage(context);
  const once = { raw: onceRaw, sdk: onceSdk };
  const run = async (client, name) => {
    await pages[client].bringToFront();
    return once[client](pages[client], server, name);
  };

  const warmup = Object.fromEntries(CLIENTS.map((c) => [c, []]));
  for (let i = 0; i < Number(args.warmup); i++)
    for (const c of CLIENTS) warmup[c].push(await run(c, `w${c}${i}`));
  const samples = Object.fromEntries(CLIENTS.map((c) => [c, []]));
  const failures = Object.fromEntries(CLIENTS.map((c) => [c, []]));
  for (let i = 0; CLIENTS.some((c) => samples[c].length < args.runs); i++) {
    // raw, sdk; then sdk, raw: neither always goes first after the gap.
    const order = i % 2 === 0 ? CLIENTS : [...CLIENTS].reverse();
    for (const c of order) {
      if (samples[c].length >= args.runs) continue;
      await sleep(Number(args["gap-ms"]));
      try {
        samples[c].push(await run(c, `${c}${i}`));
      } catch (e) {
        failures[c].push(e.message.split("\n")[0]);
        if (server.child.exited)
          throw new Error(
            `the server died: ${JSON.stringify(server.child.exited)}\n${server.log()}`,
          );
        if (failures[c].length >= args.runs) throw e;
      }
    }
    const last = CLIENTS.map((c) => {
      const s = samples[c][samples[c].length - 1];
      return `${c} ${samples[c].length}/${args.runs}: ${s ? s.fromConnectCall.toFixed(0) : "-"} ms`;
    });
    process.stderr.write(`\r${last.join("   ")}   `);
  }
  process.stderr.write("\n");

  const result = {
    clients: CLIENTS,
    runs: args.runs,
    gap_ms: Number(args["gap-ms"]),
    hold_ms: Number(args["hold-ms"]),
    unit: "ms",
  };
  let rawRows = null;
  let sdkRows = null;
  if (samples.raw) {
    rawRows = PHASES.map(([key, label]) => ({
      label,
      key,
      ...summarize(samples.raw.map((s) => s[key])),
    }));
    rawRows.push({
      label: "connect() call to first frame",
      key: "fromConnectCall",
      ...summarize(samples.raw.map((s) => s.fromConnectCall)),
    });
    printTable(
      `raw client: time to first frame, from new WebSocket (${args.runs} connects)`,
      rawRows,
    );
    if (failures.raw.length)
      console.log(`${failures.raw.length} raw connects failed:\n  ${failures.raw.join("\n  ")}`);
    // The raw client's fields stay where they were before the SDK was measured.
    Object.assign(result, {
      failures: failures.raw,
      summary: Object.fromEntries(rawRows.map((r) => [r.key, { ...r, label: undefined }])),
      warmup: warmup.raw,
      samples: samples.raw,
    });
  }
  if (samples.sdk) {
    sdkRows = SDK_PHASES.map(([key, label]) => ({
      label,
      key,
      ...summarize(samples.sdk.map((s) => s[key])),
    }));
    sdkRows.push({
      label: "first frame from new WebSocket (approx.)",
      key: "fromWebSocket",
      ...summarize(samples.sdk.map((s) => s.fromWebSocket)),
    });
    printTable(
      `SDK (Ithaca.connectWithCredentials), other origin (${args.runs} connects)`,
      sdkRows,
    );
    if (failures.sdk.length)
      console.log(`${failures.sdk.length} SDK connects failed:\n  ${failures.sdk.join("\n  ")}`);
    result.sdk = {
      failures: failures.sdk,
      summary: Object.fromEntries(sdkRows.map((r) => [r.key, { ...r, label: undefined }])),
      warmup: warmup.sdk,
      samples: samples.sdk,
    };
  }
  if (rawRows && sdkRows) {
    const raw = rawRows.find((r) => r.key === "fromConnectCall");
    const sdk = sdkRows.find((r) => r.key === "fromConnectCall");
    const comparison = {
      metric: "connect call to first frame presented",
      raw: { median: raw.median, p90: raw.p90, n: raw.n },
      sdk: { median: sdk.median, p90: sdk.p90, n: sdk.n },
      ratio_median: sdk.median / raw.median,
      ratio_p90: sdk.p90 / raw.p90,
      target_ratio: TARGET_RATIO,
      within_target: sdk.median / raw.median <= TARGET_RATIO,
    };
    const f = (x) => x.toFixed(1);
    console.log(
      `connect call to first frame, interleaved: raw median ${f(raw.median)} p90 ${f(raw.p90)}, ` +
        `SDK median ${f(sdk.median)} p90 ${f(sdk.p90)} (ms); sdk/raw ${comparison.ratio_median.toFixed(2)} ` +
        `(p90 ${comparison.ratio_p90.toFixed(2)}), target <= ${TARGET_RATIO.toFixed(2)}: ` +
        (comparison.within_target ? "met" : "NOT met"),
    );
    result.comparison = comparison;
  }
  writeResult(args.out, "ttff", result);
} finally {
  await cleanup();
}
