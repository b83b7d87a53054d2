// Time to first frame: from opening the signaling WebSocket to the first decoded video frame
// presented in headless Chromium (requestVideoFrameCallback's presentationTime, both on the
// page's performance.now() clock), over --runs connects, each on fresh credentials: connect,
// measure, disconnect, next. Against `ithaca server --dev` (its in-process streamer).
//
//   node bench/streaming/ttff.mjs [--runs 20] [--warmup 1] [--hold-ms 1500] [--gap-ms 500]
//                                [--out DIR]
//
// A connect that fails is counted and retried (up to --runs failures in all); the failures are
// reported, since a failed connect is a bug worth knowing about.
import { setTimeout as sleep } from "node:timers/promises";

import {
  cleanup,
  drive,
  launchBrowser,
  openClientPage,
  startServer,
} from "../../tests/e2e/lib/harness.mjs";
import { flags, printTable, summarize, writeResult } from "./lib.mjs";

// --hold-ms: how long each session stays up after its first frame; --gap-ms: pause between a
// disconnect and the next connect, as a person reconnecting would.
const args = flags(
  { runs: 20 },
  {
    warmup: { type: "string", default: "1" },
    "gap-ms": { type: "string", default: "500" },
    "hold-ms": { type: "string", default: "1500" },
  },
);
const PHASES = [
  ["wsOpen", "WebSocket open"],
  ["offer", "offer received"],
  ["answer", "answer sent"],
  ["peerConnected", "ICE + DTLS connected"],
  ["connected", "video track + clientToStreamer open"],
  ["firstFrame", "first frame presented (TTFF)"],
];

async function once(page, server, name) {
  const creds = await server.mint({ bench: "ttff" });
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

try {
  const server = await startServer();
  const page = await openClientPage(await launchBrowser(), server);
  const warmup = [];
  for (let i = 0; i < Number(args.warmup); i++) warmup.push(await once(page, server, `w${i}`));
  const samples = [];
  const failures = [];
  for (let i = 0; samples.length < args.runs; i++) {
    await sleep(Number(args["gap-ms"]));
    try {
      samples.push(await once(page, server, `c${i}`));
    } catch (e) {
      failures.push(e.message.split("\n")[0]);
      if (server.child.exited)
        throw new Error(`the server died: ${JSON.stringify(server.child.exited)}\n${server.log()}`);
      if (failures.length >= args.runs) throw e;
      continue;
    }
    const last = samples[samples.length - 1].firstFrame;
    process.stderr.write(`\rconnect ${samples.length}/${args.runs}: ${last.toFixed(0)} ms   `);
  }
  process.stderr.write("\n");
  const rows = PHASES.map(([key, label]) => ({
    label,
    key,
    ...summarize(samples.map((s) => s[key])),
  }));
  rows.push({
    label: "connect() call to first frame",
    key: "fromConnectCall",
    ...summarize(samples.map((s) => s.fromConnectCall)),
  });
  printTable(`time to first frame, from new WebSocket (${args.runs} connects)`, rows);
  if (failures.length)
    console.log(`${failures.length} connects failed:\n  ${failures.join("\n  ")}`);
  writeResult(args.out, "ttff", {
    runs: args.runs,
    gap_ms: Number(args["gap-ms"]),
    hold_ms: Number(args["hold-ms"]),
    unit: "ms",
    failures,
    summary: Object.fromEntries(rows.map((r) => [r.key, { ...r, label: undefined }])),
    warmup,
    samples,
  });
} finally {
  await cleanup();
}
