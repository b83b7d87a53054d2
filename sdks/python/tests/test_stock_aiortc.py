"""A stock aiortc client, written here against the documented wire protocol, streams from Ithaca.

Nothing of the SDK is imported, and aiortc is checked to be as it ships: this is what any
aiortc-based client (the official Odyssey Python SDK among them) meets. aiortc offers only
ECDHE-ECDSA cipher suites, so the DTLS handshake succeeds only if the streamer presents an
ECDSA certificate. Both media paths are covered: the player (signaling, offer from the streamer,
two data channels) and a spectator (WHEP, the client offers).
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
import websockets
from aiortc import RTCPeerConnection, RTCSessionDescription, rtcdtlstransport
from aiortc.sdp import candidate_from_sdp

pytestmark = pytest.mark.asyncio


@pytest.mark.filterwarnings("ignore::pytest.PytestWarning")
def test_aiortc_is_unpatched():
    # Nobody in this process (the SDK once did) may widen aiortc's DTLS context.
    method = rtcdtlstransport.RTCCertificate._create_ssl_context
    assert method.__module__ == "aiortc.rtcdtlstransport"


def mint(server) -> dict:
    response = httpx.post(
        server["url"] + "/v1/client_credentials",
        headers={"Authorization": f"Bearer {server['key']}", "Content-Type": "application/json"},
        content=b"{}",
        trust_env=False,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def first_frame(track, timeout=10.0):
    frame = await asyncio.wait_for(track.recv(), timeout)
    return frame.to_ndarray(format="rgb24")


class Player:
    """The player side of the protocol, by hand: WebSocket signaling, aiortc answering."""

    def __init__(self, creds: dict):
        self.creds = creds
        self.pc = RTCPeerConnection()
        self.channels: dict[str, object] = {}
        self.events: asyncio.Queue = asyncio.Queue()
        self.track = asyncio.get_running_loop().create_future()
        self.connected_at: float | None = None
        self.pc.on("track", lambda t: self.track.done() or self.track.set_result(t))
        self.pc.on("datachannel", self._on_channel)
        self.reader: asyncio.Task | None = None

    def _on_channel(self, channel):
        self.channels[channel.label] = channel
        if channel.label == "streamerToClient":
            channel.on("message", lambda m: self.events.put_nowait(json.loads(m)))

    async def connect(self):
        url = (
            f"{self.creds['signaling_url']}/client/{self.creds['session_id']}"
            f"?token={self.creds['session_token']}"
        )
        self.ws = await websockets.connect(url)
        while True:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
            if message["type"] == "offer":
                break
            assert message["type"] == "ice_candidate", message
        started = time.monotonic()
        self.offer = message["sdp"]
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(message["sdp"], "offer"))
        except Exception as e:
            raise AssertionError(f"aiortc refused the offer ({e}):\n{self.offer}") from e
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await self.ws.send(json.dumps({"type": "answer", "sdp": self.pc.localDescription.sdp}))
        self.reader = asyncio.create_task(self._add_trickled_candidates())
        while self.pc.connectionState != "connected":
            assert self.pc.connectionState != "failed", "the WebRTC connection failed"
            assert time.monotonic() - started < 10, "not connected within 10 s"
            await asyncio.sleep(0.01)
        self.handshake_ms = (time.monotonic() - started) * 1000

    async def _add_trickled_candidates(self):
        async for text in self.ws:
            message = json.loads(text)
            if message.get("type") != "ice_candidate" or not message.get("candidate"):
                continue
            candidate = candidate_from_sdp(message["candidate"].removeprefix("candidate:"))
            candidate.sdpMid = message.get("sdpMid")
            candidate.sdpMLineIndex = message.get("sdpMLineIndex")
            await self.pc.addIceCandidate(candidate)

    async def command(self, command: dict) -> dict:
        deadline = time.monotonic() + 10
        while "clientToStreamer" not in self.channels or (
            self.channels["clientToStreamer"].readyState != "open"
        ):
            assert time.monotonic() < deadline, "clientToStreamer did not open"
            await asyncio.sleep(0.01)
        self.channels["clientToStreamer"].send(json.dumps(command))
        return await asyncio.wait_for(self.events.get(), 10)

    async def close(self):
        await self.ws.send(json.dumps({"type": "client_disconnecting"}))
        await self.ws.close()
        await self.pc.close()
        if self.reader:
            await self.reader  # surfaces anything the candidate reader raised


async def test_a_stock_aiortc_player_streams_and_uses_both_data_channels(server):
    player = Player(mint(server))
    try:
        await player.connect()
        track = await asyncio.wait_for(player.track, 10)
        rgb = await first_frame(track)
        assert rgb.shape == (704, 1280, 3)
        started = await player.command(
            {"type": "interactive_stream_start", "prompt": "a lighthouse", "portrait": False}
        )
        assert started["type"] == "stream_started", started
        assert started["applied_prompt"] == "a lighthouse"
        assert set(player.channels) == {"clientToStreamer", "streamerToClient"}
        ended = await player.command({"type": "interactive_stream_end"})
        assert ended["type"] == "stream_ended", ended
    finally:
        await player.close()


async def test_a_stock_aiortc_spectator_watches_over_whep(server):
    host = Player(mint(server))
    spectator = RTCPeerConnection()
    try:
        await host.connect()
        started = await host.command(
            {"type": "interactive_stream_start", "prompt": "shared", "broadcast": True}
        )
        assert started["type"] == "stream_started", started
        ready = await asyncio.wait_for(host.events.get(), 10)
        assert ready["type"] == "broadcast_ready", ready

        spectator.addTransceiver("video", direction="recvonly")
        track = asyncio.get_running_loop().create_future()
        spectator.on("track", lambda t: track.done() or track.set_result(t))
        await spectator.setLocalDescription(await spectator.createOffer())  # gathers (no trickle)
        async with httpx.AsyncClient(trust_env=False) as http:
            response = await http.post(
                ready["webrtc_url"].rstrip("/") + "/whep",
                headers={
                    "Authorization": f"Bearer {ready['spectator_token']}",
                    "Content-Type": "application/sdp",
                },
                content=spectator.localDescription.sdp.encode(),
            )
        assert response.status_code == 201, response.text
        await spectator.setRemoteDescription(RTCSessionDescription(response.text, "answer"))
        rgb = await first_frame(await asyncio.wait_for(track, 10))
        assert rgb.shape == (704, 1280, 3)
        assert spectator.connectionState == "connected"
    finally:
        await spectator.close()
        await host.close()


async def test_dtls_handshake_time_with_a_stock_aiortc_player(server):
    # Reported, not judged (this box is noisy): offer received to connected, ICE + DTLS.
    times = []
    for _ in range(3):
        player = Player(mint(server))
        try:
            await player.connect()
            times.append(player.handshake_ms)
        finally:
            await player.close()
    print(f"aiortc offer-to-connected ms: {sorted(times)}")
    assert len(times) == 3
