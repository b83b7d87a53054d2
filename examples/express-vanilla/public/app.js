// The page: fetch credentials from our server (POST /api/credentials), connect with the SDK,
// and drive the stream with the buttons. No framework, no build step: /sdk/index.js is the SDK's
// own source, served by server.js.
//
// With "Broadcast" ticked, Start asks for a broadcast; once it is playable (onBroadcastReady) the
// page shows a spectator link (spectator.html, with the WHEP URL and the spectator token in the
// URL fragment: a fragment is never sent to any server, so our server never sees the token)
// and the HLS playlist's URL.
//
// Query parameters (for trying things out, and used by tests/e2e/example.test.mjs):
//   ?autoconnect=1       connect on load instead of waiting for the Connect button
//   ?connectDelayMs=N    wait N ms between getting credentials and connecting (shows what an
//                        expired token looks like: token_expired)
import { Ithaca, credentialsFromDict, errorFromCode } from "/sdk/index.js";

const params = new URLSearchParams(location.search);
const connectDelayMs = Number(params.get("connectDelayMs") ?? 0);

const $ = (id) => document.getElementById(id);
const video = $("video");
const share = $("share");
const buttons = {
  connect: $("connect"),
  start: $("start"),
  interact: $("interact"),
  end: $("end"),
  disconnect: $("disconnect"),
};

const client = new Ithaca();
window.ithacaClient = client; // for the console (and the e2e test)

function log(line) {
  const li = document.createElement("li");
  li.textContent = line;
  $("log").append(li);
  li.scrollIntoView({ block: "nearest" });
}

function showError(error) {
  // Every SDK error carries a stable code (CONCURRENT_LIMIT_REACHED, token_expired...).
  const code = error?.code ?? "error";
  $("error").textContent = `${code}: ${error?.message ?? error}`;
  $("error").dataset.code = code;
  log(`error ${code}`);
}

function setStatus(status, message) {
  $("status").textContent = message ? `${status} (${message})` : status;
  $("status").dataset.status = status;
  const connected = status === "connected";
  const live = !["idle", "disconnected", "failed"].includes(status);
  buttons.connect.disabled = live;
  buttons.start.disabled = !connected;
  buttons.interact.disabled = !connected;
  buttons.end.disabled = !connected;
  buttons.disconnect.disabled = !live;
  if (!connected) showBroadcast(null); // a broadcast ends with its host's connection
}

/** The spectator page's URL for a broadcast: everything it needs is in the fragment. */
function spectatorLink(info) {
  const fragment = new URLSearchParams({ webrtcUrl: info.webrtcUrl, token: info.spectatorToken });
  return new URL(`spectator.html#${fragment}`, location.href).href;
}

function showBroadcast(info) {
  if (!info) {
    share.hidden = true;
    return;
  }
  $("spectator-link").href = spectatorLink(info);
  $("hls-link").href = info.hlsUrl ?? "";
  $("hls-link").textContent = info.hlsUrl ?? "(no HLS)";
  share.hidden = false;
  share.dataset.streamId = info.streamId ?? "";
  log(`broadcast ready ${info.streamId ?? ""}`.trim());
}

async function getCredentials() {
  const r = await fetch("/api/credentials", { method: "POST" });
  const body = await r.json().catch(() => ({}));
  // Our server answers errors as {code, message}: rebuild the SDK's typed error from the code.
  if (!r.ok)
    throw errorFromCode(body.code ?? `http_${r.status}`, body.message, { status: r.status });
  return credentialsFromDict(body);
}

async function connect() {
  $("error").textContent = "";
  delete $("error").dataset.code;
  setStatus("authenticating", "getting credentials");
  try {
    const creds = await getCredentials();
    log(`credentials for ${creds.sessionId}`);
    if (connectDelayMs > 0) await new Promise((r) => setTimeout(r, connectDelayMs));
    await client.connectWithCredentials(creds, {
      onStatusChange: (status, message) => setStatus(status, message),
      onStreamStarted: (id) => log(`stream started ${id}`),
      onStreamEnded: () => {
        showBroadcast(null);
        log("stream ended");
      },
      onBroadcastReady: (info) => showBroadcast(info),
      onInteractAcknowledged: (prompt) => log(`interact acknowledged: ${prompt}`),
      onStreamError: (reason, message) => log(`stream error ${reason}: ${message}`),
      onError: (error, fatal) => {
        if (fatal) showError(error);
        else log(`retrying after ${error.code}`);
      },
    });
    client.attachToVideo(video);
    log("connected");
  } catch (error) {
    if ($("error").dataset.code !== error?.code) showError(error);
    if (client.status !== "failed") setStatus("failed", error?.code);
  }
}

// A command's failure is shown, but does not end the connection.
const command = (fn) => async () => {
  try {
    await fn();
  } catch (error) {
    showError(error);
  }
};

buttons.connect.onclick = connect;
buttons.start.onclick = command(async () => {
  await client.startStream({ prompt: $("prompt").value, broadcast: $("broadcast").checked });
});
buttons.interact.onclick = command(async () => {
  await client.interact({ prompt: $("prompt").value });
});
buttons.end.onclick = command(() => client.endStream());
buttons.disconnect.onclick = command(async () => {
  await client.disconnect();
  log("disconnected");
});

setStatus("idle");
if (params.get("autoconnect") === "1") connect();
