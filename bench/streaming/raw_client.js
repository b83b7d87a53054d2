// The baseline of bench/streaming/ttff.mjs: the stream protocol's connect (docs/streaming.md
// section 1) with nothing but the browser's WebSocket and RTCPeerConnection, loaded as a module
// into the benchmark's page. It does only what a first frame needs: GET /config, the signaling
// WebSocket, the answer to the server's offer, ICE candidates both ways, then waits for the
// video track and clientToStreamer. No reconnect, no commands, no typed errors: the floor the
// JS SDK's connect is compared against. Its timing marks have the names of the SDK's `timing`
// (performance.now() clock), so both get the same phases.

/**
 * Connects with a credentials dict (as the server mints it). Resolves with {stream, timing,
 * close()} once the video track arrived and clientToStreamer is open; rejects (everything
 * closed) on a signaling error or close, a failed peer, or after timeoutMs.
 */
export function rawConnect(creds, timeoutMs = 10_000) {
  const timing = { connectCall: performance.now() };
  const mark = (name) => (timing[name] ??= performance.now());
  const base = creds.signaling_url.replace(/\/+$/, "");
  let ws = null;
  let pc = null;
  let keepalive = null;
  const close = (clean) => {
    clearInterval(keepalive);
    if (clean && ws?.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify({ type: "client_disconnecting" }));
      ws.close(1000, "client disconnecting");
    } else if (ws && ws.readyState <= WebSocket.OPEN) {
      ws.close(4000, "bench client gave up");
    }
    pc?.close();
  };
  const done = new Promise((resolve, reject) => {
    let track = null;
    let channelOpen = false;
    const fail = (message) => {
      clearTimeout(timer);
      close(false);
      reject(new Error(message));
    };
    const timer = setTimeout(() => fail(`not connected within ${timeoutMs} ms`), timeoutMs);
    const ready = () => {
      if (!track || !channelOpen) return;
      clearTimeout(timer);
      mark("connected");
      const stream = new MediaStream([track]);
      resolve({ stream, timing, close: () => close(true) });
    };
    const send = (message) => ws?.readyState === WebSocket.OPEN && ws.send(JSON.stringify(message));

    const start = (iceServers) => {
      mark("config");
      pc = new RTCPeerConnection({ iceServers, bundlePolicy: "max-bundle" });
      pc.ontrack = (e) => {
        if (e.track.kind !== "video") return;
        mark("track");
        track = e.track;
        ready();
      };
      pc.ondatachannel = ({ channel }) => {
        if (channel.label !== "clientToStreamer") return;
        const opened = () => {
          mark("channelOpen");
          channelOpen = true;
          ready();
        };
        if (channel.readyState === "open") opened();
        else channel.addEventListener("open", opened, { once: true });
      };
      pc.onicecandidate = ({ candidate }) => {
        if (!candidate?.candidate) return;
        send({
          type: "ice_candidate",
          candidate: candidate.candidate,
          sdpMid: candidate.sdpMid,
          sdpMLineIndex: candidate.sdpMLineIndex,
        });
      };
      pc.onconnectionstatechange = () => {
        if (pc.connectionState === "connected") mark("peerConnected");
        if (pc.connectionState === "failed") fail("the peer connection failed");
      };

      mark("wsCreate");
      ws = new WebSocket(
        `${base}/client/${encodeURIComponent(creds.session_id)}` +
          `?token=${encodeURIComponent(creds.session_token)}`,
      );
      ws.onopen = () => {
        mark("wsOpen");
        keepalive = setInterval(() => send({ type: "keepalive" }), 10_000);
      };
      let remoteSet = false;
      const early = []; // candidates that came before the offer was applied
      let chain = Promise.resolve(); // offers and candidates are applied in arrival order
      ws.onmessage = (e) => {
        const m = JSON.parse(e.data);
        chain = chain
          .then(async () => {
            if (m.type === "offer") {
              mark("offer");
              await pc.setRemoteDescription({ type: "offer", sdp: m.sdp });
              remoteSet = true;
              for (const c of early.splice(0)) await pc.addIceCandidate(c);
              await pc.setLocalDescription(await pc.createAnswer());
              send({ type: "answer", sdp: pc.localDescription.sdp });
              mark("answer");
            } else if (m.type === "ice_candidate") {
              const c = {
                candidate: m.candidate,
                sdpMid: m.sdpMid,
                sdpMLineIndex: m.sdpMLineIndex,
              };
              if (remoteSet) await pc.addIceCandidate(c);
              else early.push(c);
            } else if (m.type === "error") {
              fail(`signaling error ${m.reason}: ${m.message}`);
            }
          })
          .catch((err) => fail(`negotiation failed: ${err}`));
      };
      ws.onclose = (e) => fail(`signaling closed (code ${e.code})`);
    };

    fetch(`${base.replace(/^ws/, "http")}/config`, { cache: "no-store" })
      .then((r) => (r.ok ? r.json() : {}))
      .then(
        (body) => start(Array.isArray(body?.iceServers) ? body.iceServers : []),
        () => start([]),
      );
  });
  // Once connected, a later close of the socket is the benchmark's own disconnect.
  return done.then((result) => {
    ws.onclose = null;
    return result;
  });
}
