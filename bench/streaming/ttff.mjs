// Time to first frame in headless Chromium, against `ithaca server --dev` (its in-process
// streamer), over --runs connects per client, each on fresh credentials: connect, measure, hold,
// clean disconnect, next. Two clients, on the same server, browser and page (served from another
// origin by a Node http server, as an app would load them), in one run:
//
//   raw  the benchmark's own client (raw_client.js): the connect with nothing but the browser's
//        WebSocket and RTCPeerConnection, the floor to compare against;
//   sdk  the JS SDK's `Ithaca` (sdks/js/src, unbundled): connectWithCredentials, then
//        attachToVideo.
//
// Both are measured the same way, on the page's performance.now() clock: from the connect call
// to the first frame presented (requestVideoFrameCallback's presentationTime), each with its
// GET /config, and the phases on the way, which both mark under the same names (the SDK's
// `timing`: config, wsCreate, wsOpen, offer, answer, peerConnected, connected). With --client
// both (the default) the connects alternate raw/sdk, sdk/raw, ... so the machine's noise lands
// on both alike; the result has both summaries and the ratio sdk/raw (target <= 1.10).
//
//   node bench/streaming/ttff.mjs [--client raw|sdk|both] [--runs 20] [--warmup 1]
//                                [--hold-ms 1500] [--gap-ms 500] [--out DIR]
//
// A connect that fails is counted and retried (up to --runs failures per client); the failures
// are reported, since a failed connect is a bug worth knowing about.
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

import {
  cleanup,
  launchBrowser,
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

// Each from the connect call; both clients mark them (raw_client.js, the SDK's `timing`).
const PHASES = [
  ["config", "GET /config done"],
  ["wsOpen", "WebSocket open"],
  ["offer", "offer received"],
  ["answer", "answer sent"],
  ["peerConnected", "ICE + DTLS connected"],
  ["connected", "video track + clientToStreamer open"],
  ["fromConnectCall", "connect call to first frame (TTFF)"],
  ["fromWebSocket", "new WebSocket to first frame"],
];

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"></head><body>
<script type="module">
import { Ithaca } from "/sdk/index.js";
import { rawConnect } from "/raw_client.js";
const live = new Map(); // name -> {close, video}
// Connects client \`kind\` ("raw" or "sdk") and resolves at the first presented frame (or fails
// after timeoutMs) with its timing marks, all on this page's performance.now() clock.
window.ttff = async (kind, name, creds, timeoutMs) => {
  const video = document.createElement("video");
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  document.body.append(video);
  const frame = new Promise((resolve) =>
    video.requestVideoFrameCallback((now, m) => resolve(m.presentationTime ?? now)),
  );
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error("no frame within " + timeoutMs + " ms")), timeoutMs);
  });
  const entry = { video, close: async () => {} };
  live.set(name, entry);
  try {
    let t;
    if (kind === "sdk") {
      const client = new Ithaca();
      entry.close = () => client.disconnect();
      await Promise.race([client.connectWithCredentials(creds), timeout]);
      client.attachToVideo(video);
      t = { ...client.timing };
    } else {
      const raw = await Promise.race([rawConnect(creds, timeoutMs), timeout]);
      entry.close = raw.close;
      video.srcObject = raw.stream;
      video.play().catch(() => {});
      t = { ...raw.timing };
    }
    t.firstFrame = await Promise.race([frame, timeout]);
    return { ok: true, t, visibility: document.visibilityState };
  } catch (e) {
    return { ok: false, code: e?.code, message: String(e?.message ?? e) };
  } finally {
    clearTimeout(timer);
  }
};
window.done = async (name) => {
  const e = live.get(name);
  if (!e) return;
  live.delete(name);
  await e.close();
  e.video.srcObject = null;
  e.video.remove();
};
window.ready = true;
</script></body></html>`;

async function openPage(context) {
  const rawClient = readFileSync(new URL("./raw_client.js", import.meta.url), "utf8");
  const origin = await serveOtherOrigin(PAGE, { "/raw_client.js": rawClient });
  const page = await context.newPage();
  page.consoleLines = [];
  page.on("console", (m) => page.consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => page.consoleLines.push(`pageerror: ${e.message}`));
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => window.ready === true);
  return page;
}

async function once(page, server, kind, name) {
  const creds = await server.mint({ bench: "ttff", client: kind });
  const r = await page.evaluate(([k, n, c]) => window.ttff(k, n, c, 10_000), [kind, name, creds]);
  if (!r.ok) {
    await page.evaluate((n) => window.done(n), name).catch(() => {});
    throw new Error(`${kind} connect failed: ${JSON.stringify(r)}\n${server.log()}`);
  }
  const t = r.t;
  const sample = {};
  for (const [key] of PHASES) sample[key] = (t[key] ?? NaN) - t.connectCall;
  sample.fromConnectCall = t.firstFrame - t.connectCall;
  sample.fromWebSocket = t.firstFrame - t.wsCreate;
  await sleep(Number(args["hold-ms"]));
  await page.evaluate((n) => window.done(n), name);
  return sample;
}

// ---- the run ----

try {
  const server = await startServer();
  const page = await openPage(await launchBrowser());
  const run = (client, name) => once(page, server, client, name);

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
  const rows = {};
  const titles = {
    raw: "raw client (raw_client.js)",
    sdk: "SDK (Ithaca.connectWithCredentials)",
  };
  for (const c of CLIENTS) {
    rows[c] = PHASES.map(([key, label]) => ({
      label,
      key,
      ...summarize(samples[c].map((s) => s[key])),
    }));
    printTable(`${titles[c]}: from the connect call (${args.runs} connects)`, rows[c]);
    if (failures[c].length)
      console.log(`${failures[c].length} ${c} connects failed:\n  ${failures[c].join("\n  ")}`);
    const fields = {
      failures: failures[c],
      summary: Object.fromEntries(rows[c].map((r) => [r.key, { ...r, label: undefined }])),
      warmup: warmup[c],
      samples: samples[c],
    };
    // The raw client's fields at the top level, where they have always been; the SDK's apart.
    if (c === "raw") Object.assign(result, fields);
    else result.sdk = fields;
  }
  if (rows.raw && rows.sdk) {
    const raw = rows.raw.find((r) => r.key === "fromConnectCall");
    const sdk = rows.sdk.find((r) => r.key === "fromConnectCall");
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
