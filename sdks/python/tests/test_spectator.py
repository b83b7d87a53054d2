"""connect_to_stream (ithaca/spectator.py) against a fake WHEP server: aiohttp routes, and an
aiortc peer that answers the offer and sends a small synthetic video. What goes on the wire
(GET /config, the WHEP POST, DELETE), frames, the typed errors, and on_disconnected when either
side ends. The real streamer is driven in tests/e2e/broadcast.test.mjs.

Also: BroadcastInfo, the client's on_broadcast_ready, and create_spectator_token.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import time

import numpy as np
import pytest
import pytest_asyncio
from aiohttp import web
from aiortc import RTCPeerConnection, RTCSessionDescription, VideoStreamTrack
from av import VideoFrame as AvFrame

from ithaca import (
    AuthError,
    BroadcastInfo,
    ClientCredentials,
    ConnectionError,
    Ithaca,
    RequestError,
    SpectatorConnection,
    StreamError,
    VideoFrame,
    connect_to_stream,
)
from ithaca.spectator import _usable_candidates
from ithaca.stream import StreamSession

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic3BlY3RhdG9yIn0.c2ln"


class SmallVideo(VideoStreamTrack):
    """160x96 frames at 30 fps: cheap to encode, enough to decode."""

    async def recv(self) -> AvFrame:
        pts, _ = await self.next_timestamp()
        frame = AvFrame.from_ndarray(np.full((96, 160, 3), 200, dtype=np.uint8), format="rgb24")
        frame.pts = pts
        frame.time_base = fractions.Fraction(1, 90000)
        return frame


class FakeWhep:
    """GET /config, POST /broadcast/st_1/whep, DELETE /broadcast/st_1/whep/{viewer}.

    ``mode``: "ok" (an aiortc peer answers and sends video), "dead" (a real answer from a peer
    closed at once: ICE never connects), "not_sdp" (201 with JSON), or an (HTTP status, body)
    tuple for an error answer.
    """

    def __init__(self) -> None:
        self.mode: object = "ok"
        self.requests: list[dict] = []
        self.peers: list[RTCPeerConnection] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/config", self._config)
        app.router.add_post("/broadcast/st_1/whep", self._post)
        app.router.add_delete("/broadcast/st_1/whep/{viewer}", self._delete)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        for pc in self.peers:
            await pc.close()
        if self._runner:
            await self._runner.cleanup()

    def _record(self, request: web.Request, body: str = "") -> None:
        self.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "query": dict(request.query),
                "headers": dict(request.headers),
                "body": body,
            }
        )

    async def _config(self, request: web.Request) -> web.Response:
        self._record(request)
        return web.json_response({"iceServers": []})

    async def _post(self, request: web.Request) -> web.Response:
        offer = await request.text()
        self._record(request, offer)
        if isinstance(self.mode, tuple):
            status, body = self.mode
            return web.Response(status=status, text=body, content_type="application/json")
        location = f"/broadcast/st_1/whep/v_{len(self.peers) + 1}?token={TOKEN}"
        if self.mode == "not_sdp":
            return web.json_response({}, status=201, headers={"Location": location})
        pc = RTCPeerConnection()
        self.peers.append(pc)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        pc.addTrack(SmallVideo())
        await pc.setLocalDescription(await pc.createAnswer())
        answer = pc.localDescription.sdp
        if self.mode == "dead":
            await pc.close()
        return web.Response(
            status=201,
            text=answer,
            content_type="application/sdp",
            headers={"Location": location},
        )

    async def _delete(self, request: web.Request) -> web.Response:
        self._record(request)
        return web.Response(status=204)


@pytest_asyncio.fixture
async def whep():
    fake = FakeWhep()
    await fake.start()
    yield fake
    await fake.stop()


def webrtc_url(fake: FakeWhep) -> str:
    return f"{fake.url}/broadcast/st_1"


async def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.mark.asyncio
async def test_watch_then_leave(whep):
    frames: list[VideoFrame] = []
    ended: list[str] = []
    conn = await connect_to_stream(
        webrtc_url(whep) + "/",
        TOKEN,
        on_video_frame=frames.append,
        on_disconnected=ended.append,
    )
    assert isinstance(conn, SpectatorConnection)
    assert conn.connection_state == "connected"
    config, post = whep.requests[:2]
    assert (config["method"], config["path"]) == ("GET", "/config")
    assert (post["method"], post["path"], post["query"]) == (
        "POST",
        "/broadcast/st_1/whep",
        {"token": TOKEN},
    )
    assert post["headers"]["Content-Type"] == "application/sdp"
    offer = post["body"]
    assert "m=video" in offer and "m=audio" in offer
    assert offer.count("a=recvonly") == 2, "both transceivers receive only"
    assert "m=application" not in offer, "a spectator opens no data channel"
    assert "a=candidate:" in offer, "non-trickle: the offer carries the candidates"
    assert conn.session_url == f"{whep.url}/broadcast/st_1/whep/v_1?token={TOKEN}"

    await conn.wait_first_frame(10)
    await wait_for(lambda: len(frames) >= 5, 10, "5 frames")
    frame = frames[-1]
    assert (frame.width, frame.height) == (160, 96)
    assert frame.rgb.shape == (96, 160, 3)
    assert conn.frames_received >= 5 and conn.first_frame_at is not None

    await conn.disconnect()
    deletes = [r for r in whep.requests if r["method"] == "DELETE"]
    assert [(d["path"], d["query"]) for d in deletes] == [
        ("/broadcast/st_1/whep/v_1", {"token": TOKEN})
    ]
    assert "Authorization" not in deletes[0]["headers"]
    assert conn.closed and conn.end_reason == "local" and conn.session_url is None
    assert conn.connection_state == "closed"
    await conn.disconnect()
    await conn.close()
    assert ended == ["local"], "on_disconnected is called once"
    assert len([r for r in whep.requests if r["method"] == "DELETE"]) == 1


@pytest.mark.asyncio
async def test_the_server_ending_it_calls_on_disconnected(whep):
    ended: list[str] = []
    conn = await connect_to_stream(
        webrtc_url(whep), TOKEN, on_disconnected=ended.append, ice_servers=[]
    )
    assert [r["method"] for r in whep.requests] == ["POST"], "ice_servers given: no /config"
    await conn.wait_first_frame(10)
    await whep.peers[0].close()  # DTLS close_notify, as a streamer ending the broadcast
    reason = await conn.wait_closed(10)
    assert reason in ("closed", "track_ended"), reason
    assert ended == [reason]
    await conn.disconnect()
    assert not [r for r in whep.requests if r["method"] == "DELETE"], "no DELETE after the end"


@pytest.mark.asyncio
async def test_a_handler_without_parameters_is_called_too(whep):
    ended: list[bool] = []
    conn = await connect_to_stream(
        webrtc_url(whep), TOKEN, on_disconnected=lambda: ended.append(True)
    )
    await conn.close()
    assert ended == [True]
    assert not [r for r in whep.requests if r["method"] == "DELETE"], "close() sends no DELETE"


@pytest.mark.asyncio
async def test_media_timeout_ends_a_silent_connection(whep):
    ended: list[str] = []
    conn = await connect_to_stream(
        webrtc_url(whep), TOKEN, on_disconnected=ended.append, media_timeout=0.3
    )
    await conn.wait_first_frame(10)
    # The sender stops sending without closing anything (a frozen streamer, a cut cable).
    for sender in whep.peers[0].getSenders():
        sender.replaceTrack(None)
    assert await conn.wait_closed(5) == "media_timeout"
    assert ended == ["media_timeout"]


@pytest.mark.parametrize(
    ("status", "body", "cls", "code", "retryable"),
    [
        (401, {"detail": {"code": "spectator_token_invalid", "message": "m"}}, AuthError,
         "spectator_token_invalid", False),
        (404, "not json", StreamError, "stream_not_found", False),
        (503, {"detail": {"code": "spectator_limit_reached", "message": "m", "retryable": True}},
         ConnectionError, "spectator_limit_reached", True),
        (415, {"detail": {"code": "unsupported_media_type", "message": "m"}}, RequestError,
         "unsupported_media_type", False),
    ],
)  # fmt: skip
@pytest.mark.asyncio
async def test_error_answers_are_typed(whep, status, body, cls, code, retryable):
    whep.mode = (status, body if isinstance(body, str) else json.dumps(body))
    with pytest.raises(cls) as info:
        await connect_to_stream(webrtc_url(whep), TOKEN, ice_servers=[])
    assert type(info.value) is cls
    assert info.value.code == code
    assert info.value.status == status
    assert info.value.retryable is retryable
    assert not whep.peers and not [r for r in whep.requests if r["method"] == "DELETE"]


@pytest.mark.asyncio
async def test_an_unreachable_server_is_network_error(whep):
    url = webrtc_url(whep)
    await whep.stop()
    with pytest.raises(ConnectionError) as info:
        await connect_to_stream(url, TOKEN)
    assert info.value.code == "network_error" and info.value.retryable


@pytest.mark.asyncio
async def test_an_answer_that_is_not_sdp_is_refused_and_its_resource_deleted(whep):
    whep.mode = "not_sdp"
    with pytest.raises(ConnectionError) as info:
        await connect_to_stream(webrtc_url(whep), TOKEN, ice_servers=[])
    assert info.value.code == "invalid_response"
    assert [r["path"] for r in whep.requests if r["method"] == "DELETE"] == [
        "/broadcast/st_1/whep/v_1"
    ]


@pytest.mark.asyncio
async def test_no_connected_peer_in_time_is_track_timeout(whep):
    whep.mode = "dead"
    ended: list[str] = []
    t0 = time.monotonic()
    with pytest.raises(ConnectionError) as info:
        await connect_to_stream(
            webrtc_url(whep), TOKEN, on_disconnected=ended.append, ice_servers=[], timeout=1.0
        )
    assert info.value.code in ("track_timeout", "peer_connection_failed"), info.value.code
    assert time.monotonic() - t0 < 5
    assert ended == [], "a connection that never started reports no disconnect"
    assert len([r for r in whep.requests if r["method"] == "DELETE"]) == 1


@pytest.mark.asyncio
async def test_bad_arguments():
    for url in ("ws://x/broadcast/1", "/broadcast/1", "", None):
        with pytest.raises(ValueError):
            await connect_to_stream(url, TOKEN)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        await connect_to_stream("http://x/broadcast/1", "")
    assert Ithaca.connect_to_stream is connect_to_stream


def test_usable_candidates_drops_what_aiortc_cannot_use():
    sdp = (
        "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
        "a=candidate:1 1 UDP 2015363327 10.0.0.5 51000 typ host\r\n"
        "a=candidate:2 1 TCP 1015021823 10.0.0.5 9 typ host tcptype active\r\n"
        "a=candidate:3 1 udp 2015363327 abcd.local 51001 typ host\r\n"
        "a=candidate:4 1 udp 2015363327 fe80::1 51002 typ host\r\n"
        "a=end-of-candidates\r\n"
    )
    kept = _usable_candidates(sdp)
    assert "10.0.0.5 51000" in kept
    assert "TCP" not in kept and ".local" not in kept and "fe80" not in kept
    assert kept.endswith("a=end-of-candidates\r\n")


# ---- BroadcastInfo and the host side ----

EVENT = {
    "type": "broadcast_ready",
    "stream_id": "st_1",
    "webrtc_url": "http://h:1/broadcast/st_1",
    "broadcast_url": "http://h:1/broadcast/st_1/hls/k/index.m3u8",
    "spectator_token": TOKEN,
    "request_id": "r1",
}


def test_broadcast_info_from_dict_and_repr():
    info = BroadcastInfo.from_dict(EVENT)
    assert info == BroadcastInfo(
        webrtc_url=EVENT["webrtc_url"],
        hls_url=EVENT["broadcast_url"],
        spectator_token=TOKEN,
        stream_id="st_1",
    )
    assert info.raw["request_id"] == "r1"
    assert TOKEN not in repr(info), "the token is redacted"
    assert BroadcastInfo.from_dict({**EVENT, "broadcast_url": None}).hls_url is None
    for missing in ("webrtc_url", "spectator_token"):
        with pytest.raises(ValueError):
            BroadcastInfo.from_dict({k: v for k, v in EVENT.items() if k != missing})


@pytest.mark.asyncio
async def test_on_broadcast_ready(good_input):
    creds = ClientCredentials.from_dict(good_input)
    seen: list = []
    session = StreamSession(
        creds,
        {
            "on_broadcast_ready": seen.append,
            "on_stream_error": lambda reason, _message: seen.append(reason),
        },
    )
    await session._on_event(json.dumps({"type": "stream_started", "stream_id": "st_1"}))
    assert session.broadcast is None
    await session._on_event(json.dumps({k: v for k, v in EVENT.items() if k != "stream_id"}))
    assert len(seen) == 1 and isinstance(seen[0], BroadcastInfo)
    assert seen[0].stream_id == "st_1", "the running stream's id when the event has none"
    assert session.broadcast is seen[0]
    await session._on_event(json.dumps({**EVENT, "spectator_token": None}))
    assert seen[1] == "broadcast_error"
    await session._on_event(json.dumps({"type": "stream_ended"}))
    assert session.broadcast is None


@pytest.mark.asyncio
async def test_create_spectator_token():
    seen: list[dict] = []
    answer: dict = {}

    async def handler(request: web.Request) -> web.Response:
        seen.append({"path": request.raw_path, "auth": request.headers.get("Authorization")})
        return web.json_response(answer["body"], status=answer["status"])

    app = web.Application()
    app.router.add_post("/v1/sessions/{sid}/spectator_tokens", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    try:
        client = Ithaca(api_key="ith_k", api_url=url)
        answer.update(status=201, body={**EVENT, "expires_in": 3600})
        info = await client.create_spectator_token("ses_1")
        assert seen == [{"path": "/v1/sessions/ses_1/spectator_tokens", "auth": "Bearer ith_k"}]
        assert (info.spectator_token, info.webrtc_url, info.expires_in) == (
            TOKEN,
            EVENT["webrtc_url"],
            3600,
        )
        answer.update(status=404, body={"detail": {"code": "stream_not_found", "message": "no"}})
        with pytest.raises(Exception) as err:
            await client.create_spectator_token("ses_1")
        assert err.value.code == "stream_not_found" and err.value.status == 404
        answer.update(status=201, body={"webrtc_url": "http://x"})
        with pytest.raises(Exception) as err:
            await client.create_spectator_token("ses_1")
        assert err.value.code == "invalid_response"
    finally:
        await runner.cleanup()
