// Prompt to photon: from calling interact() in the page to the first presented frame whose
// frame marker (ithaca/media/frame_marker.hpp) shows the new prompt's sequence number, read
// with requestVideoFrameCallback + a canvas; also the time to update_acknowledged. --runs
// interacts on one 1280x704 stream of `ithaca server --dev`.
//
//   node bench/streaming/prompt_to_photon.mjs [--runs 20] [--gap-ms 300] [--out DIR]
import { setTimeout as sleep } from "node:timers/promises";

import {
  cleanup,
  drive,
  launchBrowser,
  openClientPage,
  startServer,
} from "../../tests/e2e/lib/harness.mjs";
import { flags, printTable, summarize, writeResult } from "./lib.mjs";

// Pause between interacts so that each starts from a settled picture.
const args = flags({ runs: 20 }, { "gap-ms": { type: "string", default: "300" } });

try {
  const server = await startServer();
  const page = await openClientPage(await launchBrowser(), server);
  const creds = await server.mint({ bench: "prompt_to_photon" });
  const c = await drive(page, "connect", "p", creds);
  if (!c.ok) throw new Error(`connect failed: ${JSON.stringify(c)}\n${server.log()}`);
  const started = await drive(page, "call", "p", "startStream", {
    prompt: "bench",
    portrait: false,
  });
  if (!started.ok) throw new Error(`start failed: ${JSON.stringify(started)}`);
  const first = await drive(page, "waitMarker", "p", { any: true }, 10_000);
  if (!first.ok) throw new Error(`no frame marker after start: ${JSON.stringify(first)}`);
  await sleep(500);

  const samples = [];
  let misses = 0;
  for (let i = 0; i < args.runs; i++) {
    const r = await drive(page, "timeInteract", "p", `bench prompt ${i}`, 10_000);
    if (!r.ok) throw new Error(`interact ${i}: ${JSON.stringify(r)}`);
    if (r.after !== ((r.before + 1) & 0xffff)) misses++; // a frame skipped a sequence number
    samples.push(r);
    process.stderr.write(`\rinteract ${i + 1}/${args.runs}: ${r.photonMs.toFixed(0)} ms   `);
    await sleep(Number(args["gap-ms"]));
  }
  process.stderr.write("\n");
  const stats = await drive(page, "stats", "p");
  await drive(page, "call", "p", "disconnect");
  const rows = [
    {
      label: "interact() to update_acknowledged",
      key: "ack",
      ...summarize(samples.map((s) => s.ackMs)),
    },
    {
      label: "interact() to new marker presented",
      key: "photon",
      ...summarize(samples.map((s) => s.photonMs)),
    },
  ];
  printTable(`prompt to photon (${args.runs} interacts, 1280x704)`, rows);
  if (misses) console.log(`note: ${misses} interacts showed a sequence other than before + 1`);
  writeResult(args.out, "prompt_to_photon", {
    runs: args.runs,
    unit: "ms",
    summary: Object.fromEntries(rows.map((r) => [r.key, { ...r, label: undefined }])),
    misses,
    receiver: {
      frameWidth: stats.frameWidth,
      frameHeight: stats.frameHeight,
      codec: stats.codec,
      framesDecoded: stats.framesDecoded,
    },
    samples,
  });
} finally {
  await cleanup();
}
