"""The aiortc streaming client (docs/odyssey-compatibility.md sections 6, 8, 10, 11).

Mirrors sdks/js/src/client.js: the server is the offerer; every command carries a
``request_id`` and is answered by the event that echoes it; every pending future settles with
:class:`~ithaca.errors.ConnectionError` when the connection ends; a command issued before
``clientToStreamer`` is open waits for it (bounded); an unclean drop reconnects to the same
session while the token is valid; ``disconnect()`` ends the session cleanly and calls
``on_disconnected``.

aiortc cannot trickle its own ICE candidates: its answer carries them, after gathering. The
server's candidates are trickled to us and added as they come.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import inspect
import json
import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any
from urllib.parse import quote

import httpx
import websockets
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import candidate_from_sdp

from .broadcast import BroadcastInfo
from .credentials import ClientCredentials
from .errors import ConnectionError, IthacaError, StreamError, error_from_code
from .images import image_data_url
from .video_frame import VideoFrame, timestamp_ms

__all__ = ["STATUSES", "Status", "StreamOptions", "StreamSession", "VideoFrame"]


class Status(str, Enum):
    """A client's status (docs/odyssey-compatibility.md section 10); equal to its string."""

    AUTHENTICATING = "authenticating"
    CONNECTING = "connecting"
    RECONNECTING = "reconnecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    FAILED = "failed"


STATUSES = tuple(s.value for s in Status)
_TERMINAL = ("disconnected", "failed")


@dataclass(frozen=True)
class StreamOptions:
    """Tuning, in seconds; the JS client's defaults."""

    keepalive: float = 10.0
    attempt_timeout: float = 20.0
    request_timeout: float = 20.0
    channel_wait: float = 15.0
    reconnect_base: float = 0.25
    reconnect_max: float = 5.0
    reconnect_attempts: int = 8
    close_wait: float = 2.0
    error_close_wait: float = 1.0


def _connection_error(code: str, message: str, *, retryable: bool = False, **kw: Any):
    return ConnectionError(message, code=code, retryable=retryable, **kw)


def _token_expiry(token: str) -> float | None:
    """The token's ``exp`` claim (unix seconds), or None."""
    try:
        part = token.split(".")[1]
        payload = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        exp = payload.get("exp")
        return float(exp) if isinstance(exp, int | float) else None
    except (ValueError, IndexError, AttributeError):
        return None


async def _call(handler: Callable[..., Any] | None, *args: Any) -> None:
    """Calls a user handler (sync or async); its exceptions never break the client."""
    if handler is None:
        return
    try:
        result = handler(*args)
        if inspect.isawaitable(result):
            await result
    except Exception:
        import logging

        logging.getLogger("ithaca").exception("handler %r raised", handler)


class _Attempt:
    """One WebSocket + one RTCPeerConnection."""

    def __init__(self) -> None:
        self.ws: Any = None
        self.pc: RTCPeerConnection | None = None
        self.commands: Any = None
        self.track: Any = None
        self.connected = False
        self.ended = False
        self.error: IthacaError | None = None
        self.remote_set = False
        self.candidates: list[dict[str, Any]] = []
        self.tasks: list[asyncio.Task[Any]] = []


class StreamSession:
    """The state of one client connection. Used through :class:`~ithaca.client.Ithaca`."""

    def __init__(
        self,
        creds: ClientCredentials,
        handlers: Mapping[str, Callable[..., Any] | None],
        options: StreamOptions | None = None,
    ) -> None:
        self._creds = creds
        self._h = dict(handlers)
        self._opt = options or StreamOptions()
        self._status = "disconnected"
        self._conn: _Attempt | None = None
        self._pending: dict[str, dict[str, Any]] = {}
        self._ready = asyncio.Event()
        self._closing = False
        self._ever_connected = False
        self._retries = 0
        self._stream_id: str | None = None
        self._broadcast: BroadcastInfo | None = None
        self._last_applied_prompt: str | None = None
        self._ice: list[RTCIceServer] = []
        self._connected_future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._retry_task: asyncio.Task[Any] | None = None
        self._background: set[asyncio.Task[Any]] = set()
        exp = _token_expiry(creds.session_token)
        self._expires_at = exp if exp is not None else time.time() + max(0, creds.expires_in)
        self.frames_received = 0

    # ---- public ----

    @property
    def status(self) -> str:
        return self._status

    @property
    def stream_id(self) -> str | None:
        return self._stream_id

    @property
    def broadcast(self) -> BroadcastInfo | None:
        """The running stream's :class:`BroadcastInfo` once ``broadcast_ready`` came, or None."""
        return self._broadcast if self._stream_id is not None else None

    @property
    def last_applied_prompt(self) -> str | None:
        """The prompt the streamer applied: ``stream_started``'s ``applied_prompt``, then each
        acknowledged interact's prompt; None before a stream (the official SDK's meaning)."""
        return self._last_applied_prompt

    @property
    def session_id(self) -> str:
        return self._creds.session_id

    @property
    def peer_connection(self) -> RTCPeerConnection | None:
        return self._conn.pc if self._conn else None

    async def connect(self) -> None:
        await self._set_status("authenticating")
        self._ice = await self._fetch_ice_servers()
        if self._closing or self._status in _TERMINAL:
            raise _connection_error("disconnected", "the client disconnected")
        self._attempt()
        await asyncio.shield(self._connected_future)

    async def start_stream(
        self,
        prompt: str = "",
        portrait: bool = True,
        image: Any = None,
        broadcast: bool = False,
        bypass_prompt_expansion: bool | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> str:
        data_url = image_data_url(image)
        command: dict[str, Any] = {
            "type": "interactive_stream_start",
            "prompt": prompt,
            "portrait": bool(portrait),
            "input_image_base64": data_url,
            "broadcast": bool(broadcast),
        }
        if bypass_prompt_expansion is True:
            command["bypass_vlm_expansion"] = True  # the official SDK's wire name
        if params is not None:
            command["params"] = dict(params)  # the model's generation parameters (Ithaca)
        event = await self._request(command, "stream_started", via_signaling=data_url is not None)
        self._stream_id = event.get("stream_id")
        return event.get("stream_id")

    async def interact(self, prompt: str) -> str:
        event = await self._request({"type": "update", "prompt": prompt}, "update_acknowledged")
        return event.get("prompt")

    async def interact_event(self, prompt: str) -> dict[str, Any]:
        """Like :meth:`interact`; returns the whole ``update_acknowledged`` (``sequence``)."""
        return await self._request({"type": "update", "prompt": prompt}, "update_acknowledged")

    async def end_stream(self) -> None:
        await self._request({"type": "interactive_stream_end"}, "stream_ended")
        self._stream_id = None

    async def disconnect(self) -> None:
        if self._status in _TERMINAL or self._closing:
            return
        self._closing = True
        if self._retry_task:
            self._retry_task.cancel()
        conn = self._conn
        ws = conn.ws if conn else None
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.send(json.dumps({"type": "client_disconnecting"}))
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    ws.close(code=1000, reason="client disconnecting"), self._opt.close_wait
                )
        await self._end(
            "disconnected", _connection_error("disconnected", "the client disconnected")
        )
        await self._teardown(conn)

    # ---- attempts ----

    async def _set_status(self, status: str, message: str | None = None) -> None:
        if self._status == status:
            return
        self._status = status
        await _call(self._h.get("on_status_change"), Status(status), message)

    def _spawn(self, coro: Any, conn: _Attempt | None = None) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        if conn is not None:
            conn.tasks.append(task)
        return task

    async def _fetch_ice_servers(self) -> list[RTCIceServer]:
        base = self._creds.signaling_url.rstrip("/")
        if base.startswith("ws"):
            base = "http" + base[2:]
        try:
            async with httpx.AsyncClient(timeout=5.0, trust_env=False) as http:
                response = await http.get(f"{base}/config")
            body = response.json() if response.is_success else {}
        except (httpx.HTTPError, ValueError):
            return []  # not fatal: host candidates do on one host or a LAN
        servers = []
        for entry in body.get("iceServers") or [] if isinstance(body, dict) else []:
            if isinstance(entry, dict) and entry.get("urls"):
                servers.append(
                    RTCIceServer(
                        urls=entry["urls"],
                        username=entry.get("username"),
                        credential=entry.get("credential"),
                    )
                )
        return servers

    def _attempt(self) -> None:
        conn = _Attempt()
        self._conn = conn
        self._spawn(self._run_attempt(conn), conn)

    async def _run_attempt(self, conn: _Attempt) -> None:
        await self._set_status("reconnecting" if self._ever_connected else "connecting")
        self._spawn(self._attempt_timer(conn), conn)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=self._ice))
        conn.pc = pc

        @pc.on("track")
        def on_track(track: Any) -> None:
            if track.kind != "video" or conn.track is not None:
                return
            conn.track = track
            self._spawn(self._consume(conn, track), conn)
            self._spawn(self._check_ready(conn))

        @pc.on("datachannel")
        def on_datachannel(channel: Any) -> None:
            self._adopt_channel(conn, channel)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState == "failed":
                await self._lost(
                    conn,
                    _connection_error(
                        "peer_connection_failed", "the media connection failed", retryable=True
                    ),
                )

        creds = self._creds
        base = creds.signaling_url.rstrip("/")
        if base.startswith("http"):
            base = "ws" + base[4:]
        sid = quote(creds.session_id, safe="")
        url = f"{base}/client/{sid}?token={quote(creds.session_token, safe='')}"
        try:
            conn.ws = await websockets.connect(url, max_size=None, proxy=None, open_timeout=10)
        except Exception as cause:
            await self._lost(
                conn,
                _connection_error(
                    "network_error",
                    f"could not open signaling: {type(cause).__name__}",
                    retryable=True,
                ),
            )
            return
        if conn.ended:
            await conn.ws.close()
            return
        self._spawn(self._keepalive(conn), conn)
        close_code = None
        close_reason = ""
        try:
            async for raw in conn.ws:
                try:
                    message = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(message, dict):
                    try:
                        await self._on_signal(conn, message)
                    except Exception as err:
                        await self._lost(
                            conn,
                            _connection_error(
                                "peer_connection_failed",
                                f"WebRTC negotiation failed: {err}",
                                retryable=True,
                            ),
                        )
                        return
        except websockets.ConnectionClosed:
            pass
        close_code = conn.ws.close_code
        close_reason = conn.ws.close_reason or ""
        error = conn.error or _connection_error(
            "signaling_closed",
            f"signaling closed (code {close_code}{': ' + close_reason if close_reason else ''})",
            retryable=True,
            details={"close_code": close_code},
        )
        await self._lost(conn, error)

    async def _attempt_timer(self, conn: _Attempt) -> None:
        await asyncio.sleep(self._opt.attempt_timeout)
        if not conn.connected:
            await self._lost(
                conn,
                _connection_error(
                    "connect_timeout", "the connection attempt timed out", retryable=True
                ),
            )

    async def _keepalive(self, conn: _Attempt) -> None:
        while not conn.ended:
            await asyncio.sleep(self._opt.keepalive)
            await self._signal(conn, {"type": "keepalive"})

    async def _signal(self, conn: _Attempt, message: dict[str, Any]) -> bool:
        if conn.ended or conn.ws is None:
            return False
        try:
            await conn.ws.send(json.dumps(message))
        except websockets.ConnectionClosed:
            return False
        return True

    async def _on_signal(self, conn: _Attempt, message: dict[str, Any]) -> None:
        if conn.ended or conn.pc is None:
            return
        kind = message.get("type")
        if kind == "offer":
            pc = conn.pc
            await pc.setRemoteDescription(RTCSessionDescription(sdp=message["sdp"], type="offer"))
            conn.remote_set = True
            for c in conn.candidates:
                await self._add_candidate(pc, c)
            conn.candidates.clear()
            # Gathering happens inside setLocalDescription: the answer carries our candidates.
            await pc.setLocalDescription(await pc.createAnswer())
            await self._signal(conn, {"type": "answer", "sdp": pc.localDescription.sdp})
        elif kind == "ice_candidate":
            if conn.remote_set:
                await self._add_candidate(conn.pc, message)
            else:
                conn.candidates.append(message)
        elif kind == "error":
            conn.error = error_from_code(
                message.get("reason") or "unknown",
                message.get("message"),
                retryable=message.get("retryable"),
                action=message.get("action"),
            )

            async def close_later() -> None:
                await asyncio.sleep(self._opt.error_close_wait)
                await self._lost(conn, conn.error)  # type: ignore[arg-type]

            self._spawn(close_later(), conn)
        # Anything else is ignored (readers ignore what they do not know).

    @staticmethod
    async def _add_candidate(pc: RTCPeerConnection, m: Mapping[str, Any]) -> None:
        text = m.get("candidate")
        if not isinstance(text, str) or text.strip() == "":
            return  # end-of-candidates
        text = text.strip()
        if text.startswith("candidate:"):
            text = text[len("candidate:") :]
        try:
            candidate = candidate_from_sdp(text)
        except (ValueError, IndexError):
            return
        if candidate.ip.endswith(".local"):
            return  # mDNS: aiortc cannot resolve it (docs/streaming.md, WebRTC fact 6)
        if candidate.protocol.lower() != "udp":
            return  # aioice speaks ICE over UDP only; a TCP candidate fails the checks
        if candidate.ip.lower().startswith("fe80:"):
            return  # link-local IPv6 needs a scope id that SDP does not carry
        candidate.sdpMid = m.get("sdpMid")
        candidate.sdpMLineIndex = m.get("sdpMLineIndex")
        with contextlib.suppress(Exception):
            await pc.addIceCandidate(candidate)

    def _adopt_channel(self, conn: _Attempt, channel: Any) -> None:
        if channel.label == "streamerToClient":

            @channel.on("message")
            def on_message(data: Any) -> None:
                if conn is self._conn and not conn.ended:
                    self._spawn(self._on_event(data))

        elif channel.label == "clientToStreamer":
            conn.commands = channel

            @channel.on("open")
            def on_open() -> None:
                self._spawn(self._check_ready(conn))

            @channel.on("close")
            def on_close() -> None:
                self._spawn(
                    self._lost(
                        conn,
                        _connection_error(
                            "channel_closed", "the command channel closed", retryable=True
                        ),
                    )
                )

            if channel.readyState == "open":
                self._spawn(self._check_ready(conn))

    async def _check_ready(self, conn: _Attempt) -> None:
        if conn.ended or conn.connected or conn is not self._conn:
            return
        if conn.track is None or conn.commands is None or conn.commands.readyState != "open":
            return
        conn.connected = True
        self._retries = 0
        self._ever_connected = True
        await self._set_status("connected")
        self._ready.set()
        if not self._connected_future.done():
            self._connected_future.set_result(None)
        await _call(self._h.get("on_connected"))

    async def _consume(self, conn: _Attempt, track: Any) -> None:
        handler = self._h.get("on_video_frame")
        while not conn.ended:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            self.frames_received += 1
            if handler is None:
                continue
            received = time.monotonic()
            await _call(
                handler,
                VideoFrame(
                    data=frame.to_ndarray(format="rgb24"),
                    width=frame.width,
                    height=frame.height,
                    timestamp_ms=timestamp_ms(frame),
                    received_at=received,
                ),
            )

    async def _teardown(self, conn: _Attempt | None) -> None:
        if conn is None or conn.ended:
            return
        conn.ended = True
        if conn is self._conn:
            self._ready.clear()
        current = asyncio.current_task()
        for task in conn.tasks:
            if task is not current:
                task.cancel()
        if conn.ws is not None and not self._closing:
            # Not a clean disconnect: no client_disconnecting, the session stays resumable.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.ws.close(code=4000, reason="client dropped"), 1.0)
        if conn.pc is not None:
            with contextlib.suppress(Exception):
                await conn.pc.close()
        for rid, p in list(self._pending.items()):
            if p["conn"] is not conn:
                continue
            del self._pending[rid]
            if not p["future"].done():
                p["future"].set_exception(
                    _connection_error(
                        "connection_lost",
                        f"the connection ended before {p['expect']} arrived",
                        retryable=True,
                        details={"request_id": rid},
                    )
                )

    async def _lost(self, conn: _Attempt, error: IthacaError) -> None:
        """An attempt ended without our disconnect(): retry while it makes sense, else fail."""
        if conn.ended or conn is not self._conn or self._closing:
            return
        await self._teardown(conn)
        if self._stream_id is not None:
            self._stream_id = None
            await _call(self._h.get("on_stream_ended"))
        expired = time.time() >= self._expires_at
        retry = error.retryable and not expired and self._retries < self._opt.reconnect_attempts
        if not retry:
            fatal = (
                error_from_code("token_expired", "the session token expired; mint new credentials")
                if expired
                else error
            )
            await self._end("failed", fatal)
            return
        await _call(self._h.get("on_error"), error, False)  # not fatal: reconnecting
        delay = min(self._opt.reconnect_max, self._opt.reconnect_base * 2**self._retries)
        self._retries += 1
        await self._set_status(
            "reconnecting" if self._ever_connected else "connecting", error.message
        )

        async def retry_later() -> None:
            await asyncio.sleep(delay * (1 + random.random() * 0.25))
            if self._closing or self._status in _TERMINAL:
                return
            if time.time() < self._expires_at:
                self._attempt()
            else:
                await self._end(
                    "failed", error_from_code("token_expired", "the session token expired")
                )

        self._retry_task = self._spawn(retry_later())

    async def _end(self, status: str, error: IthacaError) -> None:
        """Terminal: every pending future settles, on_disconnected is called."""
        if self._status in _TERMINAL:
            return
        if not isinstance(error, ConnectionError):
            error = _connection_error(error.code, f"the connection ended: {error.message}")
        for p in self._pending.values():
            if not p["future"].done():
                p["future"].set_exception(error)
        self._pending.clear()
        self._ready.set()  # wakes commands waiting for the channel; they see the status
        self._stream_id = None
        if not self._connected_future.done():
            self._connected_future.set_exception(error)
            self._connected_future.exception()  # marks it retrieved
        await self._set_status(status, error.message)
        if status == "failed":
            await _call(self._h.get("on_error"), error, True)
        await _call(self._h.get("on_disconnected"))

    # ---- commands ----

    async def _request(
        self, command: dict[str, Any], expect: str, *, via_signaling: bool = False
    ) -> dict[str, Any]:
        if self._status in _TERMINAL or self._closing:
            raise _connection_error(
                "not_connected", f"cannot send {command['type']}: {self._status}"
            )
        deadline = time.monotonic() + self._opt.channel_wait
        while not (self._status == "connected" and self._conn and self._conn.connected):
            if self._status in _TERMINAL or self._closing:
                raise _connection_error("not_connected", f"cannot send {command['type']}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise _connection_error(
                    "channel_timeout",
                    f"{command['type']} waited {self._opt.channel_wait} s for clientToStreamer",
                    retryable=True,
                )
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._ready.wait(), left)
            if self._status in _TERMINAL:
                raise _connection_error("not_connected", f"cannot send {command['type']}")
        conn = self._conn
        rid = uuid.uuid4().hex
        text = json.dumps({**command, "request_id": rid})
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[rid] = {"expect": expect, "future": future, "conn": conn}
        try:
            if via_signaling:
                await conn.ws.send(text)
            else:
                conn.commands.send(text)
        except Exception as err:
            self._pending.pop(rid, None)
            raise _connection_error(
                "send_failed", f"could not send {command['type']}: {err}"
            ) from err
        try:
            return await asyncio.wait_for(asyncio.shield(future), self._opt.request_timeout)
        except asyncio.TimeoutError:
            self._pending.pop(rid, None)
            raise _connection_error(
                "request_timeout",
                f"no {expect} for {command['type']}",
                retryable=True,
                details={"request_id": rid},
            ) from None

    async def _on_event(self, data: Any) -> None:
        try:
            event = json.loads(data if isinstance(data, str) else bytes(data).decode())
        except (ValueError, UnicodeDecodeError):
            return
        if not isinstance(event, dict):
            return
        h = self._h
        error: IthacaError | None = None
        kind = event.get("type")
        if kind == "interactive_stream_error":
            reason = event.get("reason") or "unknown"
            error = error_from_code(reason, event.get("message"))
            if type(error) is IthacaError:
                error = StreamError(error.message, code=error.code)
            if reason == "session_timeout":
                self._stream_id = None
            await _call(h.get("on_stream_error"), reason, event.get("message") or "")
        elif kind == "stream_started":
            if event.get("stream_id") != self._stream_id:
                self._broadcast = None
            self._stream_id = event.get("stream_id")
            self._last_applied_prompt = event.get("applied_prompt")
            await _call(h.get("on_stream_started"), event.get("stream_id"))
        elif kind == "update_acknowledged":
            self._last_applied_prompt = event.get("prompt") or None
            await _call(h.get("on_interact_acknowledged"), event.get("prompt"))
        elif kind == "stream_ended":
            self._stream_id = None
            await _call(h.get("on_stream_ended"))
        elif kind == "broadcast_ready":
            try:
                # A server that leaves the stream id out means the running stream.
                info = BroadcastInfo.from_dict(
                    {**event, "stream_id": event.get("stream_id") or self._stream_id}
                )
            except ValueError:
                # The official SDK's check: without a URL and a token nobody can watch.
                await _call(
                    h.get("on_stream_error"),
                    "broadcast_error",
                    "broadcast_ready without webrtc_url or spectator_token: spectators cannot join",
                )
                return
            self._broadcast = info
            await _call(h.get("on_broadcast_ready"), info)
            return
        else:
            return
        rid = event.get("request_id")
        if rid is None and error is None:
            rid = next((k for k, p in self._pending.items() if p["expect"] == kind), None)
        p = self._pending.get(rid) if rid is not None else None
        if p is None or (error is None and p["expect"] != kind):
            return
        del self._pending[rid]
        if p["future"].done():
            return
        if error is not None:
            p["future"].set_exception(error)
        else:
            p["future"].set_result(event)
