// The in-page side of the e2e tests and benchmarks, loaded as a module into a page of the
// server's origin (harness.mjs openClientPage). It drives named clients of the JS SDK (`Ithaca`,
// from /sdk/index.js: sdks/js/src as the binary serves it to the demo page) and reads their
// video, and answers plain JSON so results cross page.evaluate intact: a failure is
// {ok: false, code, name, message, closeCode, requestId}, never a thrown error.
import { Ithaca, readVideoMarker, watchFrames } from "/sdk/index.js";

const clients = new Map(); // name -> {client, video, canvas, errors, events, disconnects, ...}

// The signaling close code of an error: the SDK keeps a server error's close code in
// details.close_code (of the error, or of its cause when it wraps one, as for an expired token).
const closeCodeOf = (e) => e?.details?.close_code ?? e?.cause?.details?.close_code;

function failure(e) {
  return {
    ok: false,
    code: e?.code ?? "exception",
    name: e?.name,
    message: e?.message ?? String(e),
    closeCode: closeCodeOf(e),
    requestId: e?.details?.request_id,
  };
}

function entry(name) {
  const e = clients.get(name);
  if (!e) throw new Error(`no client named ${name}`);
  return e;
}

/** Receive statistics of the client's video (inbound-rtp, kind video). */
async function videoStats(pc) {
  const out = {
    framesDecoded: 0,
    framesReceived: 0,
    framesDropped: 0,
    keyFramesDecoded: 0,
    frameWidth: 0,
    frameHeight: 0,
    bytesReceived: 0,
    packetsLost: 0,
    jitter: 0,
    connectionState: pc?.connectionState ?? "closed",
  };
  if (!pc) return out;
  const report = await pc.getStats();
  report.forEach((s) => {
    if (s.type !== "inbound-rtp" || s.kind !== "video") return;
    for (const key of Object.keys(out)) if (typeof s[key] === "number") out[key] = s[key];
    out.codec = report.get(s.codecId)?.mimeType;
  });
  return out;
}

/**
 * Connects a new client `name` (connectWithCredentials) and attaches its video to a <video>.
 * Records every error (onError, with `fatal`), every streamerToClient event (onEvent) and each
 * end of the connection (onDisconnected: clean when the status is "disconnected", i.e. our
 * disconnect(); else the fatal error's code and close code).
 */
async function connect(name, credentials, options = {}) {
  const e = {
    client: new Ithaca(options),
    video: document.createElement("video"),
    canvas: document.createElement("canvas"),
    errors: [],
    events: [],
    statuses: [],
    disconnects: [],
    fatal: null,
    firstFrame: null,
  };
  clients.set(name, e);
  e.video.muted = true;
  e.video.autoplay = true;
  e.video.playsInline = true;
  document.body.append(e.video);
  // The first presented frame, for time-to-first-frame (performance.now() clock).
  const stop = watchFrames(e.video, (m) => {
    e.firstFrame ??= { now: m.now, presentationTime: m.presentationTime ?? m.now };
    stop();
  });
  try {
    await e.client.connectWithCredentials(credentials, {
      onError: (err, fatal) => {
        e.errors.push({ code: err.code, message: err.message, fatal, closeCode: closeCodeOf(err) });
        if (fatal) e.fatal = err;
      },
      onEvent: (event) => e.events.push(event),
      onStatusChange: (status) => e.statuses.push(status),
      onDisconnected: () => {
        const clean = e.client.status === "disconnected";
        e.disconnects.push({
          clean,
          status: e.client.status,
          code: clean ? null : (e.fatal?.code ?? null),
          closeCode: clean ? 1000 : closeCodeOf(e.fatal),
        });
      },
    });
    e.client.attachToVideo(e.video);
    return { ok: true, sessionId: e.client.sessionId, timing: e.client.timing };
  } catch (err) {
    return failure(err);
  }
}

/**
 * client[method](...args) -> {ok: true, value, events} or a failure; `events` are the
 * streamerToClient events that arrived while the call was pending (its answer among them).
 */
async function call(name, method, ...args) {
  const e = entry(name);
  const from = e.events.length;
  try {
    const value = await e.client[method](...args);
    return {
      ok: true,
      value: value instanceof MediaStream ? null : (value ?? null),
      events: e.events.slice(from),
    };
  } catch (err) {
    return failure(err);
  }
}

async function stats(name) {
  const e = entry(name);
  return { ...(await videoStats(e.client.peerConnection)), status: e.client.status };
}

function info(name) {
  const e = entry(name);
  return {
    status: e.client.status,
    statuses: e.statuses,
    errors: e.errors,
    events: e.events,
    disconnects: e.disconnects,
    timing: e.client.timing,
    firstFrame: e.firstFrame,
  };
}

function marker(name) {
  const e = entry(name);
  return readVideoMarker(e.video, e.canvas);
}

/** Polls the video's stats until framesDecoded >= n; {ok, framesDecoded, elapsedMs}. */
async function waitFrames(name, n = 1, timeoutMs = 10_000) {
  const t0 = performance.now();
  for (;;) {
    const s = await videoStats(entry(name).client.peerConnection);
    if (s.framesDecoded >= n)
      return { ok: true, framesDecoded: s.framesDecoded, elapsedMs: performance.now() - t0 };
    if (performance.now() - t0 > timeoutMs)
      return { ok: false, code: "timeout", framesDecoded: s.framesDecoded };
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Waits until a presented frame's marker satisfies `want` ({equals: n} or {not: n} or {any:
 * true}); {ok, sequence, atMs (performance.now of the frame), elapsedMs}.
 */
function waitMarker(name, want, timeoutMs = 10_000) {
  const e = entry(name);
  const t0 = performance.now();
  const matches = (s) =>
    s !== null && (want.any || (want.equals !== undefined ? s === want.equals : s !== want.not));
  return new Promise((resolve) => {
    let last = null;
    const stop = watchFrames(e.video, (m) => {
      last = readVideoMarker(e.video, e.canvas);
      if (matches(last)) {
        stop();
        clearTimeout(timer);
        const at = m.presentationTime ?? m.now;
        resolve({ ok: true, sequence: last, atMs: at, elapsedMs: at - t0 });
      }
    });
    const timer = setTimeout(() => {
      stop();
      resolve({ ok: false, code: "timeout", last });
    }, timeoutMs);
  });
}

/**
 * Prompt-to-photon: calls interact({prompt}) and times the first presented frame whose marker
 * differs from the one shown before. {ok, ackMs, photonMs, before, after}.
 */
async function timeInteract(name, prompt, timeoutMs = 10_000) {
  const e = entry(name);
  const before = readVideoMarker(e.video, e.canvas);
  if (before === null) return { ok: false, code: "no_marker_before" };
  const t0 = performance.now();
  const seen = waitMarker(name, { not: before }, timeoutMs);
  let ackMs = null;
  const ack = e.client.interact({ prompt }).then(
    () => (ackMs = performance.now() - t0),
    (err) => failure(err),
  );
  const frame = await seen;
  const acked = await ack;
  if (acked?.ok === false) return acked;
  if (!frame.ok) return { ...frame, before };
  return { ok: true, ackMs, photonMs: frame.atMs - t0, before, after: frame.sequence };
}

/**
 * Frame pacing at the receiver: the intervals between presented frames
 * (requestVideoFrameCallback's presentationTime) over `durationMs`, and the p99 of
 * |interval - 1000/fps|. {ok, frames, p99JitterMs, medianIntervalMs}.
 */
function pacing(name, durationMs = 5_000, fps = 30) {
  const e = entry(name);
  const times = [];
  return new Promise((resolve) => {
    const stop = watchFrames(e.video, (m) => times.push(m.presentationTime ?? m.now));
    setTimeout(() => {
      stop();
      const intervals = times.slice(1).map((t, i) => t - times[i]);
      const dev = intervals.map((d) => Math.abs(d - 1000 / fps)).sort((a, b) => a - b);
      const sorted = [...intervals].sort((a, b) => a - b);
      const at = (v, p) => v[Math.min(v.length - 1, Math.max(0, Math.ceil(p * v.length) - 1))];
      resolve({
        ok: intervals.length > 0,
        frames: times.length,
        p99JitterMs: dev.length ? at(dev, 0.99) : null,
        medianIntervalMs: sorted.length ? at(sorted, 0.5) : null,
      });
    }, durationMs);
  });
}

/**
 * Sends interact({prompt}) and disconnects at once, before any answer can arrive: the pending
 * request must be rejected, not left hanging. Returns the interact outcome.
 */
async function interactThenDisconnect(name, prompt) {
  const client = entry(name).client;
  const pending = client.interact({ prompt }).then(
    (value) => ({ ok: true, value }),
    (err) => failure(err),
  );
  await client.disconnect();
  return pending;
}

function remove(name) {
  const e = clients.get(name);
  if (!e) return false;
  e.video.srcObject = null;
  e.video.remove();
  clients.delete(name);
  return true;
}

window.__e2e = {
  ready: true,
  connect,
  call,
  stats,
  info,
  marker,
  waitFrames,
  waitMarker,
  timeInteract,
  pacing,
  interactThenDisconnect,
  remove,
};
