// A view-only spectator of a broadcast, over WHEP (docs/streaming.md section 5), with the JS
// SDK's connectToStream (sdks/js/src/spectator.js, served by the binary under /sdk/): the WHEP
// URL and the spectator token come in the page's fragment (#webrtc=...&token=...), which is
// never sent to a server.
import { connectToStream } from "./sdk/index.js";

const params = new URLSearchParams(location.hash.slice(1));
const webrtcUrl = params.get("webrtc");
const token = params.get("token");
const video = document.getElementById("video");
const stateLine = document.getElementById("state");
const leaving = new AbortController();
let connection = null;

const show = (text) => (stateLine.textContent = text);

// Why a connection ended, as a person reads it (SpectatorConnection.endReason).
function ended(reason) {
  if (reason === "local") return "left";
  return `the broadcast ended or the network dropped (${reason})`;
}

async function watch() {
  if (!webrtcUrl || !token) return show("no broadcast in this link");
  try {
    connection = await connectToStream(webrtcUrl, token, { signal: leaving.signal });
  } catch (e) {
    if (leaving.signal.aborted) return show("left");
    return show(e?.status ? `refused: ${e.status} ${e.code}` : `failed: ${e?.code ?? e}`);
  }
  video.srcObject = connection.stream;
  show("connected");
  connection.onDisconnect((reason) => show(ended(reason)));
}

document.getElementById("leave").onclick = async () => {
  leaving.abort();
  await connection?.disconnect(); // WHEP DELETE: the server frees this viewer at once
  show("left");
};

watch();
