// The spectator page: watches a broadcast with the SDK's connectToStream (WHEP), with nothing
// but what the host page put in this page's URL fragment:
//
//   spectator.html#webrtcUrl=<WHEP base URL>&token=<spectator token>
//
// A fragment never leaves the browser (no server, ours included, sees the token), and the page
// needs no credentials, no API key and no backend route: any static host can serve it.
//
// Statuses (#status, and its data-status): idle, connecting, watching, ended (the host's
// stream ended or the connection was lost), left (Leave), failed (could not connect; #error
// shows the SDK error's code: spectator_token_invalid, stream_not_found...).
import { connectToStream } from "/sdk/index.js";

const $ = (id) => document.getElementById(id);
const video = $("video");
const fragment = new URLSearchParams(location.hash.slice(1));
const webrtcUrl = fragment.get("webrtcUrl");
const token = fragment.get("token");

let connection = null;
let attempt = null; // aborts a connect in progress (Leave while connecting)
window.spectator = null; // the SpectatorConnection, for the console (and the e2e test)

function log(line) {
  const li = document.createElement("li");
  li.textContent = line;
  $("log").append(li);
  li.scrollIntoView({ block: "nearest" });
}

function setStatus(status, message) {
  $("status").textContent = message ? `${status} (${message})` : status;
  $("status").dataset.status = status;
  $("watch").disabled = status === "connecting" || status === "watching";
  $("leave").disabled = status !== "connecting" && status !== "watching";
}

function showError(error) {
  const code = error?.code ?? error?.name ?? "error";
  $("error").textContent = `${code}: ${error?.message ?? error}`;
  $("error").dataset.code = code;
  log(`error ${code}`);
}

async function watch() {
  $("error").textContent = "";
  delete $("error").dataset.code;
  if (!webrtcUrl || !token) {
    setStatus("failed");
    showError({ code: "no_broadcast", message: "this link has no #webrtcUrl=...&token=..." });
    return;
  }
  setStatus("connecting");
  attempt = new AbortController();
  const t0 = performance.now();
  try {
    connection = await connectToStream(webrtcUrl, token, { signal: attempt.signal });
  } catch (error) {
    if (error?.name === "AbortError") return setStatus("left");
    setStatus("failed", error?.code);
    showError(error);
    return;
  }
  window.spectator = connection;
  video.srcObject = connection.stream;
  video.play().catch(() => {}); // muted autoplay; a click on Watch also counts as a gesture
  log(`watching (connected in ${Math.round(performance.now() - t0)} ms)`);
  setStatus("watching");
  connection.onDisconnect((reason) => {
    if (reason === "local") return; // Leave: already shown
    log(`broadcast over (${reason})`);
    setStatus("ended", reason);
  });
}

$("watch").onclick = watch;
$("leave").onclick = async () => {
  attempt?.abort();
  setStatus("left");
  await connection?.disconnect(); // WHEP DELETE: the server frees this viewer now
  log("left");
};
// Leaving the page: close without a DELETE (the page is going; the server notices).
addEventListener("pagehide", () => connection?.close());

setStatus("idle");
watch();
