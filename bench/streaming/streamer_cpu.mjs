// Streamer cost: a separate `ithaca streamer` process (beside `ithaca server --dev
// --no-local-streamer`) runs one 1280x704 30 fps stream watched by headless Chromium for
// --seconds. CPU is utime + stime from /proc/<pid>/stat over the window, as % of one core; memory
// is VmRSS before the session, while it streams and after it ended (RSS per session = during -
// before). The server's CPU is shown for comparison (it only relays signaling).
//
//   node bench/streaming/streamer_cpu.mjs [--seconds 20] [--out DIR]
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

import {
  cleanup,
  drive,
  launchBrowser,
  openClientPage,
  startServer,
  startStreamer,
} from "../../tests/e2e/lib/harness.mjs";
import { flags, writeResult } from "./lib.mjs";

const args = flags({ runs: 1 }, { seconds: { type: "string", default: "20" } });
const SECONDS = Number(args.seconds);
const IDLE_SECONDS = 3;
const SETTLE_MS = 2_000; // after start / after disconnect, before measuring

let clkTck = 100;
try {
  clkTck = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
} catch {
  // keep the Linux default
}

function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // fields 3.. of proc(5)
  return (Number(fields[11]) + Number(fields[12])) / clkTck; // utime + stime
}

function rssMiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** CPU % of one core of each pid over `seconds`. */
async function cpuOver(pids, seconds) {
  const t0 = performance.now();
  const before = pids.map(cpuSeconds);
  await sleep(seconds * 1000);
  const wall = (performance.now() - t0) / 1000;
  return pids.map((pid, i) => ((cpuSeconds(pid) - before[i]) / wall) * 100);
}

try {
  const server = await startServer({ localStreamer: false });
  const streamer = startStreamer(server, { id: "str_bench_cpu" });
  const creds = await server.mint({ bench: "streamer_cpu" }); // waits for the registration
  const pids = [streamer.pid, server.child.pid];
  const page = await openClientPage(await launchBrowser(), server);

  await sleep(SETTLE_MS);
  const rssBefore = rssMiB(streamer.pid);
  const [idleCpu, idleServerCpu] = await cpuOver(pids, IDLE_SECONDS);

  const c = await drive(page, "connect", "s", creds);
  if (!c.ok) throw new Error(`connect failed: ${JSON.stringify(c)}\n${streamer.log()}`);
  const started = await drive(page, "call", "s", "startStream", { prompt: "cpu", portrait: false });
  if (!started.ok) throw new Error(`start failed: ${JSON.stringify(started)}`);
  await sleep(SETTLE_MS);
  const frames0 = (await drive(page, "stats", "s")).framesDecoded;
  const t0 = performance.now();
  const [streamCpu, streamServerCpu] = await cpuOver(pids, SECONDS);
  const stats = await drive(page, "stats", "s");
  const fps = (stats.framesDecoded - frames0) / ((performance.now() - t0) / 1000);
  const rssDuring = rssMiB(streamer.pid);

  await drive(page, "call", "s", "disconnect");
  await sleep(SETTLE_MS);
  const rssAfter = rssMiB(streamer.pid);

  const rows = [
    ["streamer CPU idle (% of one core)", idleCpu],
    [`streamer CPU, 1 stream ${stats.frameWidth}x${stats.frameHeight} (% of one core)`, streamCpu],
    [
      "server CPU idle / streaming (%)",
      `${idleServerCpu.toFixed(1)} / ${streamServerCpu.toFixed(1)}`,
    ],
    ["frames decoded per second (browser)", fps],
    ["streamer RSS before (MiB)", rssBefore],
    ["streamer RSS streaming (MiB)", rssDuring],
    ["streamer RSS after disconnect (MiB)", rssAfter],
    ["RSS per session (MiB)", rssDuring - rssBefore],
  ];
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  console.log(`streamer cost over ${SECONDS} s (codec ${stats.codec ?? "?"})`);
  for (const [label, value] of rows) {
    console.log(`${label.padEnd(width)}${typeof value === "number" ? value.toFixed(1) : value}`);
  }
  writeResult(args.out, "streamer_cpu", {
    seconds: SECONDS,
    cpu_percent_one_core: { idle: idleCpu, streaming: streamCpu },
    server_cpu_percent_one_core: { idle: idleServerCpu, streaming: streamServerCpu },
    rss_mib: {
      before: rssBefore,
      streaming: rssDuring,
      after: rssAfter,
      per_session: rssDuring - rssBefore,
    },
    received: {
      fps,
      frameWidth: stats.frameWidth,
      frameHeight: stats.frameHeight,
      codec: stats.codec,
    },
  });
} finally {
  await cleanup();
}
