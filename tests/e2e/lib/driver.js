// The in-page side of the e2e tests and benchmarks, loaded as a module into a page of the
// server's origin (harness.mjs openClientPage). It drives named IthacaClient instances and
// reads their video, and answers plain JSON so results cross page.evaluate intact: a failure is
// {ok: false, reason, message, ...}, never a thrown error.
import { IthacaClient } from "/ithaca-client.js";
import { readVideoMarker, watchFrames } from "/frame-marker.js";

const clients = new Map(); // name -> {client, video, canvas, errors, events, disconnects}

function failure(e) {
  return {
    ok: false,
    reason: e?.reason ?? "exception",
    message: e?.message ?? String(e),
    closeCode: e?.closeCode,
    requestId: e?.requestId,
  };
}

function entry(name) {
  const e = clients.get(name);
  if (!e) throw new Error(`no client named ${name}`);
  return e;
}

/** Connects a new client `name` and attaches its video to a <video> element. */
async function connect(name, credentials, options = {}) {
  const e = {
    client: new IthacaClient(options),
    video: document.createElement("video"),
    canvas: document.createElement("canvas"),
    errors: [],
    events: [],
    disconnects: [],
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
    const stream = await e.client.connect(credentials, {
      onError: (err) => e.errors.push({ reason: err.reason, message: err.message }),
      onEvent: (event) => e.events.push(event),
      onDisconnected: ({ code, clean, error }) =>
        e.disconnects.push({
          code,
          clean,
          reason: error?.reason ?? null,
          closeCode: error?.closeCode,
        }),
    });
    e.video.srcObject = stream;
    await e.video.play().catch(() => {});
    return { ok: true, sessionId: e.client.sessionId, timing: e.client.timing };
  } catch (err) {
    return failure(err);
  }
}

/** client[method](...args) -> {ok: true, value} or a failure. */
async function call(name, method, ...args) {
  try {
    const value = await entry(name).client[method](...args);
    return { ok: true, value: value instanceof MediaStream ? null : (value ?? null) };
  } catch (err) {
    return failure(err);
  }
}

async function stats(name) {
  const e = entry(name);
  return { ...(await e.client.getStats()), status: e.client.status };
}

function info(name) {
  const e = entry(name);
  return {
    status: e.client.status,
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

/** Polls getStats until framesDecoded >= n; {ok, framesDecoded, elapsedMs}. */
async function waitFrames(name, n = 1, timeoutMs = 10_000) {
  const t0 = performance.now();
  for (;;) {
    const s = await entry(name).client.getStats();
    if (s.framesDecoded >= n)
      return { ok: true, framesDecoded: s.framesDecoded, elapsedMs: performance.now() - t0 };
    if (performance.now() - t0 > timeoutMs)
      return { ok: false, reason: "timeout", framesDecoded: s.framesDecoded };
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
      resolve({ ok: false, reason: "timeout", last });
    }, timeoutMs);
  });
}

/**
 * Prompt-to-photon: calls interact(prompt) and times the first presented frame whose marker
 * differs from the one shown before. {ok, ackMs, photonMs, before, after}.
 */
async function timeInteract(name, prompt, timeoutMs = 10_000) {
  const e = entry(name);
  const before = readVideoMarker(e.video, e.canvas);
  if (before === null) return { ok: false, reason: "no_marker_before" };
  const t0 = performance.now();
  const seen = waitMarker(name, { not: before }, timeoutMs);
  let ackMs = null;
  const ack = e.client.interact(prompt).then(
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
 * Sends interact(prompt) and disconnects at once, before any answer can arrive: the pending
 * request must be rejected, not left hanging. Returns the interact outcome.
 */
async function interactThenDisconnect(name, prompt) {
  const client = entry(name).client;
  const pending = client.interact(prompt).then(
    (value) => ({ ok: true, value }),
    (err) => failure(err),
  );
  await client.disconnect();
  return pending;
}

/** Close without disconnect: the WebSocket and peer just go (like a closed tab). */
function dropUncleanly(name) {
  const e = entry(name);
  e.client._ws?.close(4000, "test drop");
  e.client._pc?.close();
  return true;
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
  interactThenDisconnect,
  dropUncleanly,
  remove,
};
