// A Python world model on a web page, three ways, side by side in one run on this machine:
//
//   aiortc     bench/model/aiortc_baseline.py: what an ML engineer writes instead of Ithaca (one
//              aiortc process: model, libx264 through PyAV, WebRTC, a data channel for prompts);
//   worker     Ithaca with a Python worker: `ithaca server --dev --no-local-streamer` plus
//              `ithaca streamer --model "<python> -m ithaca_model tests.models.rgb_world:RgbWorld"`;
//   inprocess  Ithaca's in-process procedural world: plain `ithaca server --dev`.
//
// One side at a time (each torn down before the next, so they never share the CPU), each with
// one 1280x704 stream in headless Chromium, the page served from another origin (Ithaca's JS
// SDK from /sdk/, as ttff.mjs). Per side:
//
//   steady   --window-s of playing with no prompts: CPU of the server-side processes (utime +
//            stime from /proc/PID/stat: the baseline's process; the streamer and its worker
//            processes, every live descendant summed; the in-process server), and frame pacing at
//            the receiver: p99 of |interval - 1000/fps| between requestVideoFrameCallback
//            presentations (what a viewer sees) and between their receiveTime (packet arrival);
//   prompts  --prompts prompts, spaced by a random --min-gap-ms..--max-gap-ms (seeded): prompt to
//            photon, from the send to the first presented frame whose frame marker
//            (ithaca/media/frame_marker.hpp) shows a new sequence; and the send to the ack.
//
// Then one table with each side's numbers and the ratios to the aiortc baseline.
//
//   node bench/model/compare.mjs [--sides aiortc,worker,inprocess] [--prompts 30]
//        [--window-s 10] [--min-gap-ms 300] [--max-gap-ms 900] [--seed 1] [--bitrate 2000]
//        [--baseline-python bench/model/.venv/bin/python] [--baseline-model builtin]
//        [--worker-model "CMD"] [--out DIR]
//
// The worker side needs `ithaca streamer --model` and the model runtime's venv; until then it is
// reported as not available (the reason printed), and the other two still run. --worker-model
// (or ITHACA_BENCH_WORKER_MODEL) replaces the whole worker command; its default is
// "sdks/model-python/.venv/bin/python -m ithaca_model tests.models.rgb_world:RgbWorld", run with
// the repository root put first on PYTHONPATH (both sides). Environment of the e2e harness: ITHACA_BIN, CHROMIUM.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";

import {
  Child,
  cleanup,
  ithacaBinary,
  launchBrowser,
  onCleanup,
  repoRoot,
  serveOtherOrigin,
  startServer,
  startStreamer,
} from "../../tests/e2e/lib/harness.mjs";
import { percentile, writeResult } from "../streaming/lib.mjs";

const here = path.join(repoRoot, "bench", "model");
const WORKER_PYTHON = path.join(repoRoot, "sdks", "model-python", ".venv", "bin", "python");
const { values: args } = parseArgs({
  options: {
    sides: { type: "string", default: "aiortc,worker,inprocess" },
    prompts: { type: "string", default: "30" },
    "window-s": { type: "string", default: "10" },
    "warmup-s": { type: "string", default: "2" },
    "min-gap-ms": { type: "string", default: "300" },
    "max-gap-ms": { type: "string", default: "900" },
    seed: { type: "string", default: "1" },
    bitrate: { type: "string", default: "2000" },
    fps: { type: "string", default: "30" },
    "baseline-python": { type: "string", default: path.join(here, ".venv", "bin", "python") },
    "baseline-model": { type: "string", default: "builtin" },
    "worker-model": {
      type: "string",
      default:
        process.env.ITHACA_BENCH_WORKER_MODEL ??
        `${WORKER_PYTHON} -m ithaca_model tests.models.rgb_world:RgbWorld`,
    },
    out: { type: "string", default: path.join(repoRoot, "build", "bench-results") },
  },
});
// The repository root (for tests/models), then whatever the caller had.
const PYTHONPATH = [repoRoot, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter);
const SIDES = args.sides.split(",").filter(Boolean);
for (const s of SIDES) {
  if (!["aiortc", "worker", "inprocess"].includes(s)) {
    console.error(`--sides takes aiortc, worker and inprocess (not ${s})`);
    process.exit(2);
  }
}
const N_PROMPTS = Number(args.prompts);
const FPS = Number(args.fps);
const TITLES = {
  aiortc: "aiortc baseline",
  worker: "Ithaca + Python worker",
  inprocess: "Ithaca in-process",
};

// The page: one stream, either way, and the same measurements on it.
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"></head><body>
<script type="module">
import { Ithaca, readVideoMarker } from "/sdk/index.js";
const video = document.createElement("video");
video.muted = true;
video.autoplay = true;
video.playsInline = true;
document.body.append(video);
const canvas = document.createElement("canvas");
let send = null; // prompt -> Promise (resolves on the acknowledgement)
let stats = () => null; // -> the RTCPeerConnection
let close = async () => {};
// Every presented frame: its marker and times, on the performance.now() clock.
const frames = [];
let listeners = [];
const tick = (now, m) => {
  const f = {
    now,
    presentationTime: m.presentationTime ?? now,
    receiveTime: m.receiveTime ?? null,
    presentedFrames: m.presentedFrames,
    marker: readVideoMarker(video, canvas),
  };
  frames.push(f);
  if (frames.length > 20000) frames.splice(0, 10000);
  for (const l of listeners) l(f);
  video.requestVideoFrameCallback(tick);
};
video.requestVideoFrameCallback(tick);

const waitFor = (pred, timeoutMs) =>
  new Promise((resolve) => {
    const l = (f) => {
      if (!pred(f)) return;
      listeners = listeners.filter((x) => x !== l);
      clearTimeout(timer);
      resolve(f);
    };
    const timer = setTimeout(() => {
      listeners = listeners.filter((x) => x !== l);
      resolve(null);
    }, timeoutMs);
    listeners.push(l);
  });

async function baseline(url, prompt) {
  const pc = new RTCPeerConnection();
  pc.addTransceiver("video", { direction: "recvonly" });
  const channel = pc.createDataChannel("control");
  const acks = [];
  channel.onmessage = (e) => {
    const msg = JSON.parse(e.data);
    if (msg.type === "update_acknowledged") acks.shift()?.resolve(msg.sequence);
    else if (msg.type === "error") acks.shift()?.reject(new Error(msg.message));
  };
  pc.ontrack = (e) => {
    video.srcObject = e.streams[0] ?? new MediaStream([e.track]);
    video.play().catch(() => {});
  };
  await pc.setLocalDescription(await pc.createOffer());
  // aiortc does not trickle: send the offer with every candidate in it.
  if (pc.iceGatheringState !== "complete")
    await new Promise((r) => {
      pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && r();
    });
  const r = await fetch(url + "/offer", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ sdp: pc.localDescription.sdp, type: "offer", prompt }),
  });
  if (!r.ok) throw new Error("POST /offer: " + r.status + " " + (await r.text()));
  await pc.setRemoteDescription(await r.json());
  if (channel.readyState !== "open") await new Promise((r) => (channel.onopen = r));
  send = (p) =>
    new Promise((resolve, reject) => {
      acks.push({ resolve, reject });
      channel.send(JSON.stringify({ type: "update", prompt: p }));
    });
  stats = () => pc;
  close = async () => pc.close();
}

async function ithaca(creds, prompt) {
  const client = new Ithaca();
  await client.connectWithCredentials(creds);
  client.attachToVideo(video);
  await client.startStream({ prompt, portrait: false });
  send = (p) => client.interact({ prompt: p });
  stats = () => client.peerConnection;
  close = () => client.disconnect();
}

window.bench = {
  async connect(kind, target, prompt, timeoutMs) {
    try {
      if (kind === "aiortc") await baseline(target, prompt);
      else await ithaca(target, prompt);
      const f = await waitFor((f) => f.marker !== null, timeoutMs);
      if (!f) return { ok: false, message: "no frame with a marker within " + timeoutMs + " ms" };
      return { ok: true, marker: f.marker };
    } catch (e) {
      return { ok: false, code: e?.code, message: String(e?.message ?? e) };
    }
  },
  // Prompt to photon: send, then the first presented frame with another marker than before.
  async prompt(p, timeoutMs) {
    const before = frames[frames.length - 1]?.marker ?? null;
    const t0 = performance.now();
    const seen = waitFor((f) => f.marker !== null && f.marker !== before, timeoutMs);
    let ackMs = null;
    let ackError = null;
    const ack = send(p).then(
      () => (ackMs = performance.now() - t0),
      (e) => (ackError = String(e?.message ?? e)),
    );
    const f = await seen;
    await ack;
    if (ackError) return { ok: false, message: "interact failed: " + ackError };
    if (!f) return { ok: false, message: "no new marker within " + timeoutMs + " ms", before };
    return { ok: true, ackMs, photonMs: f.presentationTime - t0, before, after: f.marker };
  },
  // Marks a window: frames from now on, and the receive statistics at its ends.
  async mark() {
    const s = await this.videoStats();
    return { index: frames.length, at: performance.now(), ...s };
  },
  framesSince(index) {
    return frames.slice(index).map(({ marker, ...f }) => f);
  },
  async videoStats() {
    const out = { framesDecoded: 0, bytesReceived: 0, frameWidth: 0, frameHeight: 0 };
    const pc = stats();
    if (!pc) return out;
    (await pc.getStats()).forEach((s) => {
      if (s.type !== "inbound-rtp" || s.kind !== "video") return;
      for (const k of Object.keys(out)) if (typeof s[k] === "number") out[k] = s[k];
    });
    return out;
  },
  close: () => close(),
};
window.ready = true;
</script></body></html>`;

// ---- the server side's CPU: /proc/PID/stat ----

const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

async function procStat(pid) {
  try {
    const text = await readFile(`/proc/${pid}/stat`, "utf8");
    // Fields after the command (which may hold spaces and parentheses): state is field 3.
    const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
  } catch {
    return null; // gone
  }
}

/** The pids of `root` and of every live descendant of it. */
async function processTree(root) {
  const parent = new Map();
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const s = await procStat(name);
    if (s) parent.set(Number(name), s.ppid);
  }
  const tree = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of parent) {
      if (!tree.has(pid) && tree.has(ppid)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  return [...tree];
}

/** CPU ticks (utime + stime) of the processes, per pid. */
async function cpuTicks(roots) {
  const out = new Map();
  for (const root of roots) {
    for (const pid of await processTree(root)) {
      const s = await procStat(pid);
      if (s) out.set(pid, s.ticks);
    }
  }
  return out;
}

/** % of one core used by the processes (and their descendants) over the window. */
function cpuPercent(before, after, seconds) {
  let ticks = 0;
  // A pid in both: its growth; one that appeared during the window: all of it.
  for (const [pid, t] of after) ticks += t - (before.get(pid) ?? 0);
  return (100 * ticks) / CLK_TCK / seconds;
}

// ---- statistics ----

const median = (v) =>
  percentile(
    [...v].sort((a, b) => a - b),
    50,
  );
const p99 = (v) =>
  percentile(
    [...v].sort((a, b) => a - b),
    99,
  );

/** p99 of |interval - 1000/fps| over consecutive values of `key`. */
function jitter(frames, key) {
  const t = frames.map((f) => f[key]).filter((x) => Number.isFinite(x));
  const dev = [];
  let late = 0; // intervals over 1.5 frames: a frame shown late or never
  for (let i = 1; i < t.length; i++) {
    dev.push(Math.abs(t[i] - t[i - 1] - 1000 / FPS));
    if (t[i] - t[i - 1] > 1500 / FPS) late++;
  }
  return {
    p99: p99(dev),
    median: median(dev),
    latePct: (100 * late) / (dev.length || 1),
    n: dev.length,
  };
}

// Seeded, so two runs space their prompts alike (mulberry32).
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- the sides ----

async function waitPortFile(child, file, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await readFile(file, "utf8").catch(() => "");
    if (/^\d+\s*$/.test(text)) return Number(text);
    if (child.exited) throw new Error(`${child.name} exited:\n${child.log()}`);
    if (Date.now() > deadline) throw new Error(`${child.name} did not listen:\n${child.log()}`);
    await sleep(50);
  }
}

/** Why the worker side cannot run here, or null when it can. */
function workerUnavailable() {
  let help = "";
  try {
    help = execFileSync(ithacaBinary(), ["streamer", "--help"], { encoding: "utf8" });
  } catch (e) {
    help = String(e.stdout ?? "");
  }
  if (!help.includes("--model")) return "`ithaca streamer --help` lists no --model (not merged)";
  const python = args["worker-model"].split(/\s+/)[0];
  if (python.includes("/") && !existsSync(python)) return `no worker python at ${python}`;
  return null;
}

/** Starts a side; {target (URL or credentials), cpuRoots: pids, log(), stop()}. */
async function startSide(side) {
  if (side === "aiortc") {
    const python = args["baseline-python"];
    if (!existsSync(python)) throw new Error(`no ${python}: run bench/model/setup.sh first`);
    const dir = await mkdtemp(path.join(os.tmpdir(), "ithaca-bench-aiortc-"));
    onCleanup(() => rm(dir, { recursive: true, force: true }));
    const portFile = path.join(dir, "port");
    const child = new Child(
      "aiortc",
      python,
      [
        path.join(here, "aiortc_baseline.py"),
        "--model",
        args["baseline-model"],
        "--port-file",
        portFile,
        "--bitrate",
        args.bitrate,
      ],
      { ...process.env, PYTHONPATH, PYTHONUNBUFFERED: "1" },
    );
    onCleanup(() => child.stop());
    const port = await waitPortFile(child, portFile, 30_000);
    return {
      target: `http://127.0.0.1:${port}`,
      cpuRoots: [child.pid],
      log: () => child.log(),
      stop: () => child.stop(),
    };
  }
  if (side === "inprocess") {
    const server = await startServer({ name: "inprocess" });
    return {
      target: await server.mint({ bench: "model-compare" }),
      cpuRoots: [server.child.pid], // the streamer is in the server's process
      log: () => server.log(),
      stop: () => server.child.stop(),
    };
  }
  const server = await startServer({ localStreamer: false, name: "worker-server" });
  const streamer = startStreamer(server, {
    id: "str_bench_model",
    args: ["--model", args["worker-model"], "--bitrate", args.bitrate],
    env: { PYTHONPATH, PYTHONUNBUFFERED: "1" },
  });
  // Capacity comes once the model has loaded: mint until then.
  const target = await server.mint({ bench: "model-compare" }, { timeoutMs: 120_000 });
  return {
    target,
    cpuRoots: [streamer.pid], // the streamer and its workers (descendants)
    log: () => `${server.log()}\n${streamer.log()}`,
    stop: async () => {
      await streamer.stop();
      await server.child.stop();
    },
  };
}

async function runSide(browser, origin, side) {
  const s = await startSide(side);
  const page = await browser.newPage();
  const consoleLines = [];
  page.on("console", (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => consoleLines.push(`pageerror: ${e.message}`));
  try {
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => window.ready === true);
    const c = await page.evaluate(
      ([k, t]) => window.bench.connect(k, t, "bench start", 20_000),
      [side, s.target],
    );
    if (!c.ok)
      throw new Error(
        `${side}: connect failed: ${JSON.stringify(c)}\n${consoleLines.join("\n")}\n${s.log()}`,
      );
    await sleep(Number(args["warmup-s"]) * 1000);

    // Steady state: CPU and pacing over the window.
    const windowS = Number(args["window-s"]);
    const m0 = await page.evaluate(() => window.bench.mark());
    const c0 = await cpuTicks(s.cpuRoots);
    const t0 = performance.now();
    await sleep(windowS * 1000);
    const c1 = await cpuTicks(s.cpuRoots);
    const seconds = (performance.now() - t0) / 1000;
    const m1 = await page.evaluate(() => window.bench.mark());
    const frames = await page.evaluate((i) => window.bench.framesSince(i), m0.index);
    const steady = {
      seconds,
      cpuPct: cpuPercent(c0, c1, seconds),
      pids: [...c1.keys()],
      fpsPresented: frames.length / ((m1.at - m0.at) / 1000),
      fpsDecoded: (m1.framesDecoded - m0.framesDecoded) / ((m1.at - m0.at) / 1000),
      kbps: (8 * (m1.bytesReceived - m0.bytesReceived)) / (m1.at - m0.at),
      size: `${m1.frameWidth}x${m1.frameHeight}`,
      jitterPresented: jitter(frames, "presentationTime"),
      jitterReceived: jitter(frames, "receiveTime"),
    };

    // Prompts, spaced randomly.
    const rand = random(Number(args.seed));
    const gap = () =>
      Number(args["min-gap-ms"]) +
      rand() * (Number(args["max-gap-ms"]) - Number(args["min-gap-ms"]));
    const samples = [];
    const failures = [];
    for (let i = 0; i < N_PROMPTS; i++) {
      await sleep(gap());
      const r = await page.evaluate(
        ([p]) => window.bench.prompt(p, 5_000),
        [`bench prompt ${i} ${side}`],
      );
      if (r.ok) samples.push(r);
      else failures.push(r.message);
      process.stderr.write(
        `\r${side}: prompt ${i + 1}/${N_PROMPTS}: ${r.ok ? r.photonMs.toFixed(0) + " ms" : "failed"}   `,
      );
    }
    process.stderr.write("\n");
    await page.evaluate(() => window.bench.close()).catch(() => {});
    return {
      steady,
      photon: {
        median: median(samples.map((x) => x.photonMs)),
        p99: p99(samples.map((x) => x.photonMs)),
      },
      ack: { median: median(samples.map((x) => x.ackMs)), p99: p99(samples.map((x) => x.ackMs)) },
      prompts: samples.length,
      failures,
      samples,
    };
  } finally {
    await page.close().catch(() => {});
    await s.stop();
  }
}

// ---- the run ----

const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "-");

function printResults(results) {
  const rows = [
    ["prompt to photon, median (ms)", (r) => r.photon.median],
    ["prompt to photon, p99 (ms)", (r) => r.photon.p99],
    ["prompt to ack, median (ms)", (r) => r.ack.median],
    ["CPU per stream (% of a core)", (r) => r.steady.cpuPct],
    ["pacing jitter p99, presented (ms)", (r) => r.steady.jitterPresented.p99],
    ["pacing jitter p99, received (ms)", (r) => r.steady.jitterReceived.p99],
    ["intervals over 1.5 frames, presented (%)", (r) => r.steady.jitterPresented.latePct],
    ["frames presented / s", (r) => r.steady.fpsPresented],
    ["received kbit/s", (r) => r.steady.kbps],
  ];
  const cols = SIDES;
  const ratioCols = cols.filter((c) => c !== "aiortc" && results.aiortc?.ok);
  const head = [
    "".padEnd(42),
    ...cols.map((c) => TITLES[c].padStart(24)),
    ...ratioCols.map((c) => `${c}/aiortc`.padStart(18)),
  ];
  console.log(head.join(""));
  for (const [label, get] of rows) {
    const cells = cols.map((c) => (results[c].ok ? fmt(get(results[c])) : "n/a").padStart(24));
    const ratios = ratioCols.map((c) =>
      (results[c].ok ? fmt(get(results[c]) / get(results.aiortc), 2) : "n/a").padStart(18),
    );
    console.log([label.padEnd(42), ...cells, ...ratios].join(""));
  }
  for (const c of cols) {
    const r = results[c];
    if (!r.ok) console.log(`${TITLES[c]}: not run: ${r.reason}`);
    else {
      const f = r.failures.length ? `, ${r.failures.length} failed: ${r.failures[0]}` : "";
      console.log(
        `${TITLES[c]}: ${r.prompts}/${N_PROMPTS} prompts${f}; ${r.steady.size}; CPU of pids ` +
          `${r.steady.pids.join(",")} over ${fmt(r.steady.seconds)} s`,
      );
    }
  }
}

try {
  const origin = await serveOtherOrigin(PAGE);
  const browser = await launchBrowser();
  const results = {};
  for (const side of SIDES) {
    const reason = side === "worker" ? workerUnavailable() : null;
    if (reason) {
      results[side] = { ok: false, reason };
      console.error(`${side}: not available: ${reason}`);
      continue;
    }
    try {
      results[side] = { ok: true, ...(await runSide(browser, origin, side)) };
    } catch (e) {
      results[side] = { ok: false, reason: e.message.split("\n")[0] };
      console.error(e.message);
    }
  }
  printResults(results);
  writeResult(args.out, "model_compare", {
    sides: SIDES,
    prompts: N_PROMPTS,
    window_s: Number(args["window-s"]),
    gap_ms: [Number(args["min-gap-ms"]), Number(args["max-gap-ms"])],
    seed: Number(args.seed),
    bitrate_kbps: Number(args.bitrate),
    fps: FPS,
    baseline_model: args["baseline-model"],
    worker_model: args["worker-model"],
    results,
  });
} finally {
  await cleanup();
}
