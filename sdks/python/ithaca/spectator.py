"""Spectators: watch a broadcast over WHEP (draft-ietf-wish-whep).

The contract is docs/odyssey-compatibility.md section 9.

A spectator needs only the ``webrtc_url`` and ``spectator_token`` of the host's
``broadcast_ready`` (:class:`BroadcastInfo`): no API key, no session, no data channel.

    conn = await connect_to_stream(info.webrtc_url, info.spectator_token,
                                   on_video_frame=show, on_disconnected=bye)
    ...
    await conn.disconnect()  # WHEP DELETE, then close

Mirrors ``sdks/js/src/spectator.js``: ``GET {origin}/config`` for ICE servers, a receive-only
offer (video and audio) with every candidate in it (aiortc gathers inside
``setLocalDescription``: non-trickle, as WHEP wants), ``POST {webrtc_url}/whep?token=``, the
answer in the body, the resource in ``Location``; the same typed errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, quote, urljoin, urlsplit

import httpx
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from .broadcast import BroadcastInfo
from .errors import (
    AuthError,
    ConnectionError,
    IthacaError,
    RequestError,
    StreamError,
    UsageError,
    error_from_code,
)
from .stream import _call
from .video_frame import VideoFrame, timestamp_ms

__all__ = ["BroadcastInfo", "SpectatorConnection", "connect_to_stream"]

# From the WHEP answer to a video track on a connected peer: the official SDK's value.
DEFAULT_TIMEOUT = 30.0
# aiortc has no ICE "disconnected" state: a spectator that received video and then gets none
# for this long counts as ended (the streamer sends 30 frames a second; its DTLS close or RTCP
# BYE, when they arrive, end the connection sooner).
DEFAULT_MEDIA_TIMEOUT = 5.0
# GET /config must not hold a viewer up: without it host candidates still do on a LAN.
_CONFIG_TIMEOUT = 5.0
_HTTP_TIMEOUT = 10.0
_DELETE_TIMEOUT = 2.0


def _error_from_whep(status: int, body: str) -> IthacaError:
    """The typed error for a WHEP error answer ``{"detail": {"code", "message", "retryable"}}``.
    A known code keeps its class; an unknown one is classed by status (as the JS SDK does)."""
    detail: Any = None
    with contextlib.suppress(ValueError):
        data = json.loads(body)
        detail = data.get("detail") if isinstance(data, dict) else None
    if not isinstance(detail, dict):
        detail = {}
    code = detail.get("code") if isinstance(detail.get("code"), str) else None
    code = code or (detail.get("error") if isinstance(detail.get("error"), str) else None)
    code = code or {401: "spectator_token_invalid", 404: "stream_not_found"}.get(
        status, f"http_{status}"
    )
    message = detail.get("message") if isinstance(detail.get("message"), str) else ""
    message = message or {
        401: "the spectator token is not valid for this broadcast",
        404: "the broadcast was not found, or it has ended",
    }.get(status, f"the WHEP endpoint answered HTTP {status}")
    retryable = detail.get("retryable")
    known = error_from_code(
        code, message, retryable=retryable, action=detail.get("action"), status=status
    )
    if type(known) is not IthacaError:
        return known
    if status in (401, 403):
        cls: type[IthacaError] = AuthError
    elif status in (404, 410):
        cls = StreamError
    elif status == 429:
        cls = UsageError
    elif status >= 500:
        cls = ConnectionError
    else:
        cls = RequestError
    if not isinstance(retryable, bool):
        retryable = status in (502, 503)
    return cls(message, code=code, retryable=retryable, action=detail.get("action"), status=status)


def _takes_an_argument(handler: Callable[..., Any] | None) -> bool:
    """Whether ``on_disconnected`` wants the reason: the client's ``on_disconnected()`` takes
    none, and a spectator handler written the same way must work too."""
    if handler is None:
        return False
    try:
        inspect.signature(handler).bind("reason")
    except TypeError:
        return False
    except ValueError:  # no signature (a builtin): pass the reason
        return True
    return True


def _usable_candidates(sdp: str) -> str:
    """The answer without candidates aiortc cannot use: TCP (aioice speaks ICE over UDP only),
    mDNS ``.local`` names, link-local IPv6 (stream.py filters trickled ones the same way)."""
    kept = []
    for line in sdp.splitlines(keepends=True):
        if line.startswith("a=candidate:"):
            parts = line.split()
            if len(parts) < 6:
                continue
            transport, address = parts[2].lower(), parts[4].lower()
            if transport != "udp" or address.endswith(".local") or address.startswith("fe80:"):
                continue
        kept.append(line)
    return "".join(kept)


async def _ice_servers(webrtc_url: str, http: httpx.AsyncClient) -> list[RTCIceServer]:
    parts = urlsplit(webrtc_url)
    try:
        response = await http.get(
            f"{parts.scheme}://{parts.netloc}/config", timeout=_CONFIG_TIMEOUT
        )
        body = response.json() if response.is_success else {}
    except (httpx.HTTPError, ValueError):
        return []
    servers = []
    for entry in (body.get("iceServers") or []) if isinstance(body, dict) else []:
        if isinstance(entry, dict) and entry.get("urls"):
            servers.append(
                RTCIceServer(
                    urls=entry["urls"],
                    username=entry.get("username"),
                    credential=entry.get("credential"),
                )
            )
    return servers


async def _whep_delete(
    url: str, token: str, transport: httpx.AsyncBaseTransport | None
) -> int | None:
    """DELETE on a WHEP resource; the status, or None when unreachable. Never raises. The
    resource takes the token that created it: Ithaca's Location carries it as ``?token=``."""
    headers = {}
    if "token" not in parse_qs(urlsplit(url).query):
        headers["Authorization"] = f"Bearer {token}"
    try:
        async with httpx.AsyncClient(transport=transport, trust_env=False) as http:
            response = await http.delete(url, headers=headers, timeout=_DELETE_TIMEOUT)
        return response.status_code
    except httpx.HTTPError:
        return None


class SpectatorConnection:
    """One spectator's receive-only connection, made by :func:`connect_to_stream`.

    Ends (``on_disconnected(reason)`` is called once) when: the server closes DTLS or sends
    RTCP BYE (the broadcast ended), the peer fails, no frame arrives for ``media_timeout``
    seconds after the first, or :meth:`disconnect` / :meth:`close` is called (reason
    ``"local"``).
    """

    def __init__(
        self,
        pc: RTCPeerConnection,
        session_url: str | None,
        token: str,
        on_video_frame: Callable[..., Any] | None,
        on_disconnected: Callable[..., Any] | None,
        media_timeout: float | None,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        self._pc = pc
        self._session_url = session_url
        self._token = token
        self._on_frame = on_video_frame
        self._on_disconnected = on_disconnected
        self._media_timeout = media_timeout
        self._transport = transport
        self._end_reason: str | None = None
        self._ended = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._first_frame: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._last_frame_at: float | None = None
        self._started = False  # connect_to_stream returned it: on_disconnected may be called
        self.frames_received = 0
        self.first_frame_at: float | None = None  # time.monotonic() of the first decoded frame

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("closed", "failed"):
                await self._end(pc.connectionState)

    # ---- public ----

    @property
    def connection_state(self) -> str:
        return self._pc.connectionState

    @property
    def is_connected(self) -> bool:
        """Watching: the peer is connected and the connection has not ended."""
        return not self.closed and self._pc.connectionState == "connected"

    @property
    def peer_connection(self) -> RTCPeerConnection:
        return self._pc

    @property
    def session_url(self) -> str | None:
        """The WHEP resource (the answer's ``Location``), or None once left."""
        return self._session_url

    @property
    def closed(self) -> bool:
        return self._end_reason is not None

    @property
    def end_reason(self) -> str | None:
        """``local``, ``closed``, ``failed``, ``track_ended``, ``media_timeout``, or None."""
        return self._end_reason

    async def wait_first_frame(self, timeout: float | None = None) -> None:
        """Returns once a frame was decoded; raises ``TimeoutError`` after ``timeout``."""
        await asyncio.wait_for(asyncio.shield(self._first_frame), timeout)

    async def wait_closed(self, timeout: float | None = None) -> str:
        """Waits for the end; returns its reason. Raises ``TimeoutError`` after ``timeout``."""
        await asyncio.wait_for(self._ended.wait(), timeout)
        return self._end_reason or ""

    async def disconnect(self) -> None:
        """Leaves: DELETE on the WHEP resource (the server frees this viewer at once), then
        closes. Never raises; calls ``on_disconnected("local")``."""
        url, already = self._session_url, self.closed
        self._session_url = None
        await self._end("local")
        if url and not already:
            await _whep_delete(url, self._token, self._transport)

    async def close(self) -> None:
        """Closes without a DELETE (the broadcast is ending anyway; the server notices)."""
        self._session_url = None
        await self._end("local")

    # ---- internal ----

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _start(self, track: Any) -> None:
        self._started = True
        self._spawn(self._consume(track))
        if self._media_timeout:
            self._spawn(self._watch_media(self._media_timeout))

    async def _consume(self, track: Any) -> None:
        while not self.closed:
            try:
                frame = await track.recv()
            except MediaStreamError:
                # The receiver stopped: DTLS closed or RTCP BYE from the server.
                await self._end("track_ended")
                return
            now = time.monotonic()
            self._last_frame_at = now
            self.frames_received += 1
            if self.first_frame_at is None:
                self.first_frame_at = now
                if not self._first_frame.done():
                    self._first_frame.set_result(None)
            if self._on_frame is None:
                continue
            await _call(
                self._on_frame,
                VideoFrame(
                    data=frame.to_ndarray(format="rgb24"),
                    width=frame.width,
                    height=frame.height,
                    timestamp_ms=timestamp_ms(frame),
                    received_at=now,
                ),
            )

    async def _watch_media(self, timeout: float) -> None:
        while not self.closed:
            await asyncio.sleep(min(timeout / 4, 0.5))
            last = self._last_frame_at
            if last is not None and time.monotonic() - last > timeout:
                await self._end("media_timeout")
                return

    async def _end(self, reason: str) -> None:
        if self.closed:
            return
        self._end_reason = reason
        if not self._first_frame.done():
            self._first_frame.set_exception(
                ConnectionError(f"the connection ended ({reason})", code="disconnected")
            )
            self._first_frame.exception()  # retrieved: nobody may be waiting
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        with contextlib.suppress(Exception):
            await self._pc.close()
        if self._started:
            handler = self._on_disconnected
            await _call(handler, *((reason,) if _takes_an_argument(handler) else ()))
        self._ended.set()  # after the handler: wait_closed() returns on a settled end


async def connect_to_stream(
    webrtc_url: str,
    spectator_token: str,
    on_video_frame: Callable[..., Any] | None = None,
    on_disconnected: Callable[..., Any] | None = None,
    debug: bool = False,
    *,
    ice_servers: list[RTCIceServer] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    media_timeout: float | None = DEFAULT_MEDIA_TIMEOUT,
    transport: httpx.AsyncBaseTransport | None = None,
) -> SpectatorConnection:
    """Watches a broadcast; returns once the video track arrived and the peer is connected.

    Handlers may be plain functions or coroutines: ``on_video_frame(VideoFrame)``,
    ``on_disconnected(reason)``. Raises :class:`~ithaca.errors.AuthError` (401: invalid,
    expired or another stream's token), :class:`~ithaca.errors.StreamError` (404: no such
    broadcast, or it ended), :class:`~ithaca.errors.ConnectionError` (503
    ``spectator_limit_reached``, ``network_error``, ``peer_connection_failed``,
    ``track_timeout`` after ``timeout`` seconds), ``ValueError`` for a URL that is not
    http(s). ``ice_servers`` skips ``GET /config``; ``transport`` is for tests. ``debug``
    (the official SDK's) turns the ``ithaca`` logger to DEBUG.
    """
    if debug:
        logging.getLogger("ithaca").setLevel(logging.DEBUG)
    parts = urlsplit(webrtc_url if isinstance(webrtc_url, str) else "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"webrtc_url must be an absolute http(s) URL, got {webrtc_url!r}")
    if not isinstance(spectator_token, str) or spectator_token == "":
        raise ValueError("spectator_token must be a non-empty string")

    async with httpx.AsyncClient(transport=transport, trust_env=False) as http:
        servers = ice_servers if ice_servers is not None else await _ice_servers(webrtc_url, http)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=servers))
        conn: SpectatorConnection | None = None
        session_url: str | None = None
        try:
            tracks: list[Any] = []
            pc.on("track", tracks.append)
            pc.addTransceiver("video", direction="recvonly")
            pc.addTransceiver("audio", direction="recvonly")
            await pc.setLocalDescription(await pc.createOffer())

            post_url = f"{webrtc_url.rstrip('/')}/whep?token={quote(spectator_token, safe='')}"
            try:
                response = await http.post(
                    post_url,
                    content=pc.localDescription.sdp.encode(),
                    headers={"Content-Type": "application/sdp", "Accept": "application/sdp"},
                    timeout=_HTTP_TIMEOUT,
                )
            except httpx.HTTPError as cause:
                raise ConnectionError(
                    f"could not reach {parts.scheme}://{parts.netloc}: {type(cause).__name__}",
                    code="network_error",
                    retryable=True,
                ) from cause
            if not response.is_success:
                raise _error_from_whep(response.status_code, response.text)
            location = response.headers.get("location")
            session_url = urljoin(post_url, location) if location else None
            answer = response.text
            if not answer.startswith("v=0"):
                raise ConnectionError(
                    f"the WHEP answer (HTTP {response.status_code}) is not SDP",
                    code="invalid_response",
                    status=response.status_code,
                )

            conn = SpectatorConnection(
                pc,
                session_url,
                spectator_token,
                on_video_frame,
                on_disconnected,
                media_timeout,
                transport,
            )
            try:
                await pc.setRemoteDescription(
                    RTCSessionDescription(sdp=_usable_candidates(answer), type="answer")
                )
            except Exception as cause:
                raise ConnectionError(
                    f"the WHEP answer was refused: {cause}", code="invalid_answer"
                ) from cause
            await _wait_ready(pc, conn, tracks, timeout)
            video = next(t for t in tracks if t.kind == "video")
            conn._start(video)
            return conn
        except BaseException:
            if conn is not None:
                await conn._end("failed_to_connect")  # never started: no on_disconnected
            else:
                with contextlib.suppress(Exception):
                    await pc.close()
            if session_url:
                # The server made a viewer for us: free it now rather than at its ICE timeout.
                await _whep_delete(session_url, spectator_token, transport)
            raise


async def _wait_ready(
    pc: RTCPeerConnection, conn: SpectatorConnection, tracks: list[Any], timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if conn.closed or pc.connectionState in ("failed", "closed"):
            raise ConnectionError(
                "the media connection failed before any video",
                code="peer_connection_failed",
                retryable=True,
            )
        if pc.connectionState == "connected" and any(t.kind == "video" for t in tracks):
            return
        if time.monotonic() >= deadline:
            raise ConnectionError(
                f"no video within {timeout} s of the WHEP answer",
                code="track_timeout",
                retryable=True,
            )
        await asyncio.sleep(0.02)
