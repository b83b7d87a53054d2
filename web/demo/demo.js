// The demo page of `ithaca server --dev`: gets credentials from the dev-only route
// POST /dev/credentials (a real app's server mints them with its API key instead), connects with
// ithaca-client.js and drives a stream. `?autoconnect=0` leaves connecting to the button.
import { IthacaClient } from "./ithaca-client.js";
import { readVideoMarker } from "./frame-marker.js";

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
  return error?.reason ? `${error.reason}: ${error.message}` : String(error);
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
      reason: detail.code ?? "http_error",
    });
  }
  return body;
}

async function connect() {
  if (client?.status === "connecting" || client?.connected) return;
  try {
    // A session that ended cleanly cannot be joined again: mint fresh credentials each time.
    credentials = await fetchDevCredentials();
    log(`credentials for ${credentials.session_id} (expires in ${credentials.expires_in} s)`);
    client = new IthacaClient();
    const stream = await client.connect(credentials, {
      onStatus: (status) => log(`status: ${status}`),
      onError: (e) => log(`signaling error ${describe(e)}`, true),
      onEvent: (event) => {
        log(`event ${JSON.stringify(event)}`);
        if (event.type === "broadcast_ready") showSpectatorLinks(event);
        if (event.type === "stream_ended") $("spectators").hidden = true;
      },
      onDisconnected: ({ code, clean, error }) =>
        log(
          `disconnected code=${code} clean=${clean}${error ? ` ${describe(error)}` : ""}`,
          !clean,
        ),
    });
    video.srcObject = stream;
    await video.play().catch(() => {});
  } catch (e) {
    log(`connect failed ${describe(e)}`, true);
  }
}

// The watch page gets the WHEP URL and spectator token in the fragment, which is never sent to
// a server.
function showSpectatorLinks({ webrtc_url: webrtcUrl, spectator_token: token, broadcast_url: hls }) {
  const fragment = new URLSearchParams({ webrtc: webrtcUrl, token });
  $("watch-link").href = `watch.html#${fragment}`;
  $("hls-link").hidden = !hls;
  if (hls) $("hls-link").href = hls;
  $("spectators").hidden = false;
}

async function command(name, run) {
  if (!client?.connected) {
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
$("interact").onclick = () => command("interact", () => client.interact(promptBox.value));
$("end").onclick = () => command("end", () => client.endStream());
promptBox.addEventListener("keydown", (e) => {
  if (e.key !== "Enter") return;
  if (client?.streamId) $("interact").click();
  else $("start").click();
});

async function refreshStatus() {
  if (!client) return;
  const stats = await client.getStats();
  const marker = video.videoWidth ? readVideoMarker(video, markerCanvas) : null;
  statusLine.textContent =
    `${client.status} | session ${client.sessionId ?? "-"} | stream ${client.streamId ?? "-"}` +
    ` | ${stats.frameWidth}x${stats.frameHeight} ${stats.codec ?? ""}` +
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
