// The demo page of `ithaca server --dev`: gets credentials from the dev-only route
// POST /dev/credentials (a real app's server mints them with its API key instead), connects with
// the JS SDK (sdks/js/src, which the binary serves under /sdk/) and drives a stream.
// `?autoconnect=0` leaves connecting to the button.
import { Ithaca, readVideoMarker } from "./sdk/index.js";

const $ = (id) => document.getElementById(id);
const video = $("video");
const promptBox = $("prompt");
const statusLine = $("status");
const logBox = $("log");
const markerCanvas = document.createElement("canvas");
const MAX_LOG_LINES = 300;

let client = null;
let credentials = null;

function log(text, isError = false) {
  const line = document.createElement("div");
  line.textContent = `${new Date().toISOString().slice(11, 23)} ${text}`;
  if (isError) line.className = "error";
  logBox.append(line);
  while (logBox.childElementCount > MAX_LOG_LINES) logBox.firstElementChild.remove();
  logBox.scrollTop = logBox.scrollHeight;
}

function describe(error) {
  return error?.code ? `${error.code}: ${error.message}` : String(error);
}

async function fetchDevCredentials() {
  const response = await fetch("/dev/credentials", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ metadata: { source: "demo page" } }),
  });
  const body = await response.json();
  if (!response.ok) {
    const detail = body?.detail ?? {};
    throw Object.assign(new Error(detail.message ?? `HTTP ${response.status}`), {
      code: detail.code ?? "http_error",
    });
  }
  return body;
}

// Live: connecting, connected or reconnecting (the SDK reconnects after an unclean drop).
const live = () => client !== null && !["disconnected", "failed"].includes(client.status);

async function connect() {
  if (live()) return;
  try {
    // A session that ended cleanly cannot be joined again: mint fresh credentials each time.
    credentials = await fetchDevCredentials();
    log(`credentials for ${credentials.session_id} (expires in ${credentials.expires_in} s)`);
    client = new Ithaca();
    const current = client;
    await client.connectWithCredentials(credentials, {
      onStatusChange: (status, message) =>
        log(`status: ${status}${message ? ` (${message})` : ""}`),
      onError: (e, fatal) => log(`error ${describe(e)}${fatal ? "" : " (reconnecting)"}`, true),
      onEvent: (event) => log(`event ${JSON.stringify(event)}`),
      onBroadcastReady: showSpectatorLinks,
      onStreamEnded: () => ($("spectators").hidden = true),
      onDisconnected: () => {
        const clean = current.status === "disconnected"; // our disconnect(), not a failure
        log(`disconnected clean=${clean}`, !clean);
      },
    });
    client.attachToVideo(video);
  } catch (e) {
    log(`connect failed ${describe(e)}`, true);
  }
}

// The watch page gets the WHEP URL and spectator token in the fragment, which is never sent to
// a server.
function showSpectatorLinks({ webrtcUrl, spectatorToken, hlsUrl }) {
  const fragment = new URLSearchParams({ webrtc: webrtcUrl, token: spectatorToken });
  $("watch-link").href = `watch.html#${fragment}`;
  $("hls-link").hidden = !hlsUrl;
  if (hlsUrl) $("hls-link").href = hlsUrl;
  $("spectators").hidden = false;
}

async function command(name, run) {
  if (!client?.isConnected) {
    log(`${name}: not connected`, true);
    return;
  }
  try {
    await run();
  } catch (e) {
    log(`${name} failed ${describe(e)}`, true);
  }
}

$("connect").onclick = connect;
$("disconnect").onclick = () => client?.disconnect();
$("start").onclick = () =>
  command("start", () =>
    client.startStream({
      prompt: promptBox.value,
      portrait: $("portrait").checked,
      broadcast: $("broadcast").checked,
    }),
  );
$("interact").onclick = () =>
  command("interact", () => client.interact({ prompt: promptBox.value }));
$("end").onclick = () => command("end", () => client.endStream());
promptBox.addEventListener("keydown", (e) => {
  if (e.key !== "Enter") return;
  if (client?.streamId) $("interact").click();
  else $("start").click();
});

// What the status line shows of the received video (inbound-rtp, kind video).
async function videoStats(pc) {
  const out = { frameWidth: 0, frameHeight: 0, framesDecoded: 0, codec: "" };
  if (!pc) return out;
  const report = await pc.getStats();
  report.forEach((s) => {
    if (s.type !== "inbound-rtp" || s.kind !== "video") return;
    Object.assign(out, {
      frameWidth: s.frameWidth ?? 0,
      frameHeight: s.frameHeight ?? 0,
      framesDecoded: s.framesDecoded ?? 0,
      codec: report.get(s.codecId)?.mimeType ?? "",
    });
  });
  return out;
}

async function refreshStatus() {
  if (!client) return;
  const stats = await videoStats(client.peerConnection);
  const marker = video.videoWidth ? readVideoMarker(video, markerCanvas) : null;
  statusLine.textContent =
    `${client.status} | session ${client.sessionId ?? "-"} | stream ${client.streamId ?? "-"}` +
    ` | ${stats.frameWidth}x${stats.frameHeight} ${stats.codec}` +
    ` | frames decoded ${stats.framesDecoded} | marker ${marker ?? "-"}`;
}
setInterval(() => refreshStatus().catch(() => {}), 500);

// For tests and the console: the page's client and helpers.
window.ithacaDemo = {
  get client() {
    return client;
  },
  get credentials() {
    return credentials;
  },
  connect,
  log,
};

if (new URLSearchParams(location.search).get("autoconnect") !== "0") connect();
