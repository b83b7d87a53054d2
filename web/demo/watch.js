// A view-only spectator of a broadcast, over WHEP (docs/streaming.md section 5), with nothing
// but the browser's WebRTC: the WHEP URL and the spectator token come in the page's fragment
// (#webrtc=...&token=...). The SDKs' connectToStream does the same with typed errors.
const params = new URLSearchParams(location.hash.slice(1));
const webrtcUrl = params.get("webrtc");
const token = params.get("token");
const video = document.getElementById("video");
const stateLine = document.getElementById("state");
let pc;
let resource;

const show = (text) => (stateLine.textContent = text);

async function iceServers() {
  try {
    const response = await fetch(`${new URL(webrtcUrl).origin}/config`, { cache: "no-store" });
    return response.ok ? (await response.json()).iceServers : [];
  } catch {
    return [];
  }
}

async function watch() {
  if (!webrtcUrl || !token) return show("no broadcast in this link");
  pc = new RTCPeerConnection({ iceServers: await iceServers() });
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.ontrack = (event) => (video.srcObject = new MediaStream([event.track]));
  pc.onconnectionstatechange = () => show(pc.connectionState);
  pc.oniceconnectionstatechange = () => {
    if (pc.iceConnectionState === "disconnected")
      show("the broadcast ended or the network dropped");
  };
  await pc.setLocalDescription(await pc.createOffer());
  // WHEP is non-trickle: the offer carries every candidate (wait at most 2 s for them).
  await new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && resolve();
    setTimeout(resolve, 2000);
  });
  const response = await fetch(`${webrtcUrl}/whep?token=${encodeURIComponent(token)}`, {
    method: "POST",
    headers: { "Content-Type": "application/sdp" },
    body: pc.localDescription.sdp,
  });
  if (response.status !== 201) {
    const detail = (await response.json().catch(() => ({}))).detail ?? {};
    pc.close();
    return show(`refused: ${response.status} ${detail.code ?? ""}`);
  }
  resource = new URL(response.headers.get("Location"), webrtcUrl).href;
  await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
}

document.getElementById("leave").onclick = async () => {
  if (resource) await fetch(resource, { method: "DELETE" }).catch(() => {});
  pc?.close();
  show("left");
};

watch().catch((e) => show(`failed: ${e.message}`));
