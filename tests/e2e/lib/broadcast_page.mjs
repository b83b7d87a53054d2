// The in-page side of tests/e2e/broadcast.test.mjs: one page, served from another origin by
// harness.mjs serveOtherOrigin (with the SDK at /sdk/*.js, its frame-marker reader included,
// and the official SDK at /odyssey.js), that can be a host (the SDK's Ithaca client, broadcasting), a spectator
// through our SDK (connectToStream), a spectator through the official SDK
// (Odyssey.connectToStream), or a raw WHEP client. Every function answers plain JSON: a
// failure is {ok: false, name, code, status, message}, never a thrown error.
import { readFileSync } from "node:fs";

export const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"></head><body>
<script type="module">
import * as sdk from "/sdk/index.js";
import { readVideoMarker, watchFrames } from "/sdk/frame-marker.js";

const failure = (e) => ({ ok: false, name: e?.name, code: e?.code ?? null, status: e?.status ?? null,
  message: String(e?.message ?? e) });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The time of the last WHEP POST, so time to first frame is measured from it.
let whepPostAt = null;
const realFetch = window.fetch;
window.fetch = (url, init) => {
  if (init?.method === "POST" && String(url).includes("/whep")) whepPostAt = performance.now();
  return realFetch(url, init);
};

function newVideo() {
  const video = document.createElement("video");
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  video.width = 320;
  document.body.append(video);
  return video;
}

async function framesDecoded(pc) {
  let n = 0;
  (await pc.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "video") n = r.framesDecoded;
  });
  return n;
}

// A <video> being watched: first frame time, marker reads.
function track(video) {
  const rec = { video, canvas: document.createElement("canvas"), firstFrameAt: null };
  const stop = watchFrames(video, (m) => {
    rec.firstFrameAt ??= m.presentationTime ?? m.now;
    stop();
  });
  return rec;
}

function waitMarker(rec, want, timeoutMs) {
  const matches = (s) => s !== null && (want.equals !== undefined ? s === want.equals : s !== want.not);
  return new Promise((resolve) => {
    let last = readVideoMarker(rec.video, rec.canvas);
    if (matches(last)) return resolve({ ok: true, sequence: last });
    const stop = watchFrames(rec.video, () => {
      last = readVideoMarker(rec.video, rec.canvas);
      if (matches(last)) {
        stop();
        clearTimeout(timer);
        resolve({ ok: true, sequence: last });
      }
    });
    const timer = setTimeout(() => (stop(), resolve({ ok: false, reason: "timeout", last })), timeoutMs);
  });
}

// ---- host ----
let host = null;
window.hostStart = async (creds, prompt) => {
  try {
    const client = new sdk.Ithaca();
    const ready = new Promise((resolve) => (host = { client, onReady: resolve }));
    const stream = await client.connectWithCredentials(creds, {
      onBroadcastReady: (info) => host.onReady(info),
    });
    host.rec = track(newVideo());
    host.rec.video.srcObject = stream;
    const streamId = await client.startStream({ prompt, broadcast: true });
    const info = await Promise.race([ready, sleep(15000).then(() => null)]);
    if (!info) return { ok: false, message: "no broadcast_ready within 15 s", streamId };
    await waitMarker(host.rec, { not: -1 }, 10000);
    return { ok: true, streamId, sessionId: client.sessionId, info: { ...info, raw: undefined },
      raw: info.raw, fromGetter: client.broadcast === info };
  } catch (e) {
    return failure(e);
  }
};
window.hostMarker = () => readVideoMarker(host.rec.video, host.rec.canvas);
window.hostInteract = async (prompt) => {
  try {
    const before = readVideoMarker(host.rec.video, host.rec.canvas);
    const ack = await host.client.interact({ prompt });
    const after = await waitMarker(host.rec, { not: before }, 10000);
    return { ok: after.ok, ack, before, after: after.sequence };
  } catch (e) {
    return failure(e);
  }
};
window.hostEnd = async () => {
  try {
    await host.client.endStream();
    return { ok: true };
  } catch (e) {
    return failure(e);
  }
};
window.hostDisconnect = async () => {
  await host?.client.disconnect();
  return { ok: true, status: host?.client.status };
};
window.hostStatus = () => host?.client.status ?? null;
window.hostStreamId = () => host?.client.streamId ?? null;

// ---- spectators (ours and the official SDK's) ----
const viewers = new Map();
window.watch = async (name, webrtcUrl, token, { official = false } = {}) => {
  const t0 = performance.now();
  try {
    let conn;
    if (official) {
      const { Odyssey } = await import("/odyssey.js");
      conn = await Odyssey.connectToStream(webrtcUrl, token);
    } else {
      conn = await sdk.connectToStream(webrtcUrl, token);
    }
    const connectedAt = performance.now();
    const rec = track(newVideo());
    rec.video.srcObject = conn.stream;
    rec.video.play().catch(() => {});
    rec.conn = conn;
    rec.postAt = whepPostAt;
    rec.t0 = t0;
    rec.ends = [];
    conn.onDisconnect((reason) => rec.ends.push({ reason: reason ?? null, at: Date.now() }));
    viewers.set(name, rec);
    return { ok: true, connectMs: connectedAt - t0, state: conn.connectionState,
      sessionUrl: official ? null : conn.sessionUrl };
  } catch (e) {
    return failure(e);
  }
};
window.viewerState = async (name) => {
  const rec = viewers.get(name);
  const pc = rec.conn.peerConnection ?? rec.conn.pc; // ours, or the official SDK's
  return {
    framesDecoded: pc.connectionState === "closed" ? null : await framesDecoded(pc),
    connectionState: rec.conn.connectionState,
    ends: rec.ends,
    // POST -> first presented frame, and connectToStream() call -> first frame.
    ttffMs: rec.firstFrameAt === null ? null : rec.firstFrameAt - rec.postAt,
    totalMs: rec.firstFrameAt === null ? null : rec.firstFrameAt - rec.t0,
    marker: readVideoMarker(rec.video, rec.canvas),
  };
};
window.viewerMarker = (name, want, timeoutMs = 10000) => waitMarker(viewers.get(name), want, timeoutMs);
window.viewerLeave = async (name) => {
  await viewers.get(name).conn.disconnect();
  return { ok: true };
};

// ---- raw WHEP (what an SDK would not send) ----
const raws = new Map();
window.rawWhep = async (name, webrtcUrl, token, { dataChannel = false } = {}) => {
  const pc = new RTCPeerConnection();
  const channel = dataChannel ? pc.createDataChannel("clientToStreamer") : null;
  const received = [];
  if (channel) channel.onmessage = (e) => received.push(String(e.data));
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  await pc.setLocalDescription(await pc.createOffer());
  await Promise.race([
    new Promise((r) => pc.addEventListener("icegatheringstatechange",
      () => pc.iceGatheringState === "complete" && r())),
    sleep(5000),
  ]);
  const r = await realFetch(webrtcUrl + "/whep?token=" + encodeURIComponent(token), {
    method: "POST", headers: { "Content-Type": "application/sdp" }, body: pc.localDescription.sdp });
  const body = await r.text();
  const location = r.headers.get("Location");
  const out = { status: r.status, location, contentType: r.headers.get("Content-Type"),
    body: r.ok ? null : body, answerHasApplication: /^m=application [1-9]/m.test(r.ok ? body : "") };
  if (r.ok) {
    await pc.setRemoteDescription({ type: "answer", sdp: body });
    out.sessionUrl = location ? new URL(location, r.url).href : null;
  } else {
    pc.close();
  }
  raws.set(name, { pc, channel, received });
  return out;
};
window.rawState = async (name) => {
  const { pc, channel, received } = raws.get(name);
  return { connectionState: pc.connectionState, channelState: channel?.readyState ?? null, received,
    framesDecoded: pc.connectionState === "closed" ? null : await framesDecoded(pc) };
};
window.rawClose = (name) => raws.get(name)?.pc.close();
// Sends on the raw client's data channel, if it opened: {sent}.
window.rawSend = (name, text) => {
  const { channel } = raws.get(name);
  if (channel?.readyState !== "open") return { sent: false };
  channel.send(text);
  return { sent: true };
};

// The player signaling path with a given token: what the server says, and how it closes.
window.trySignaling = (url) =>
  new Promise((resolve) => {
    const messages = [];
    const ws = new WebSocket(url);
    ws.onmessage = (e) => messages.push(JSON.parse(e.data));
    ws.onclose = (e) => resolve({ code: e.code, reason: e.reason, messages });
    setTimeout(() => (ws.close(), resolve({ code: null, messages, timedOut: true })), 5000);
  });

window.ready = true;
</script></body></html>`;

/** The scripts serveOtherOrigin serves beside PAGE (the SDK itself is at /sdk/*.js). */
export const SCRIPTS = {
  "/odyssey.js": readFileSync(
    new URL("../node_modules/@odysseyml/odyssey/dist/index.js", import.meta.url),
    "utf8",
  ),
};

/** A new page of `browser` at `url` with PAGE loaded, collecting console lines. */
export async function openBroadcastPage(browser, url) {
  const page = await browser.newPage();
  page.consoleLines = [];
  page.on("console", (m) => page.consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => page.consoleLines.push(`pageerror: ${e.message}`));
  await page.goto(url);
  await page.waitForFunction(() => window.ready === true);
  return page;
}

/** await window[fn](...args) in the page. */
export function call(page, fn, ...args) {
  return page.evaluate(([f, a]) => window[f](...a), [fn, args]);
}
