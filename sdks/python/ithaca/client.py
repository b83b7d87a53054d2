"""The Ithaca client: minting client credentials (and spectator tokens) with the API key, and
the streaming client (ithaca/stream.py). Never ship the API key to a browser or a player; hand
them the :class:`~ithaca.credentials.ClientCredentials` instead.
"""

from __future__ import annotations

import json
import logging
import math
import os
import warnings
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from .broadcast import BroadcastInfo
from .config import AdvancedConfig, default_api_url, stream_options_from
from .credentials import ClientCredentials
from .errors import AuthError, ConnectionError, IthacaError, UsageError, error_from_code
from .hosted_only import HostedOnlyMethods
from .spectator import connect_to_stream
from .stream import Status, StreamOptions, StreamSession

__all__ = ["Ithaca"]

DEFAULT_TIMEOUT_SECONDS = 10.0


Handler = Callable[..., Any]


class Ithaca(HostedOnlyMethods):
    """Entry point of the SDK; ``ithaca.Odyssey`` is this class under the official name.

    ``api_key`` and ``api_url`` default to the environment's ``ITHACA_API_KEY`` and
    ``ITHACA_API_URL`` (then ``ODYSSEY_API_URL``), read when the client is made. A missing key
    is reported by the call that needs it (:class:`~ithaca.errors.AuthError`
    ``missing_api_key``), before any request. ``debug``, ``advanced`` and ``enable_telemetry``
    are the official constructor's keywords: ``debug`` turns the ``ithaca`` logger to DEBUG,
    ``advanced`` (an :class:`~ithaca.config.AdvancedConfig`) tunes reconnects, and telemetry
    does not exist here (nothing is ever reported to anyone).
    """

    #: Watches a broadcast as a spectator: :func:`ithaca.spectator.connect_to_stream`, here for
    #: parity with the official SDKs' ``Odyssey.connect_to_stream``. Needs no key.
    connect_to_stream = staticmethod(connect_to_stream)

    def __init__(
        self,
        api_key: str | None = None,
        api_url: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        transport: httpx.AsyncBaseTransport | None = None,
        debug: bool = False,
        advanced: AdvancedConfig | None = None,
        enable_telemetry: bool = True,
    ) -> None:
        self._api_key = api_key if api_key is not None else os.environ.get("ITHACA_API_KEY")
        self._api_url = api_url if api_url is not None else default_api_url()
        self._timeout = timeout
        self._transport = transport
        self._session: StreamSession | None = None
        self._options = stream_options_from(advanced) if advanced is not None else None
        if debug:
            logging.getLogger("ithaca").setLevel(logging.DEBUG)

    def __repr__(self) -> str:
        # Never the key itself.
        key = "set" if self._api_key else "missing"
        return f"Ithaca(api_url={self._api_url!r}, api_key=<{key}>)"

    @property
    def api_url(self) -> str | None:
        return self._api_url

    # ---- streaming (ithaca/stream.py) ----

    @property
    def status(self) -> str:
        """``authenticating | connecting | reconnecting | connected | disconnected | failed``."""
        return self._session.status if self._session else "disconnected"

    @property
    def current_status(self) -> Status:
        """:attr:`status` as the official SDK gives it, a ``ConnectionStatus``."""
        return Status(self.status)

    @property
    def is_connected(self) -> bool:
        return self.status == "connected"

    @property
    def current_session_id(self) -> str | None:
        """The session of the current connection, or None."""
        return self._session.session_id if self._session else None

    @property
    def last_applied_prompt(self) -> str | None:
        """The prompt the streamer applied last (start, then each interact), or None."""
        return self._session.last_applied_prompt if self._session else None

    @property
    def session(self) -> StreamSession | None:
        """The current streaming session (``stream_id``, ``peer_connection``...), or None."""
        return self._session

    async def connect_with_credentials(
        self,
        credentials: ClientCredentials | Mapping[str, Any],
        on_connected: Handler | None = None,
        on_disconnected: Handler | None = None,
        on_video_frame: Handler | None = None,
        on_stream_started: Handler | None = None,
        on_stream_ended: Handler | None = None,
        on_interact_acknowledged: Handler | None = None,
        on_broadcast_ready: Handler | None = None,
        on_stream_error: Handler | None = None,
        on_error: Handler | None = None,
        on_status_change: Handler | None = None,
        *,
        options: StreamOptions | None = None,
    ) -> None:
        """Connects with client credentials; returns once video and ``clientToStreamer`` are up.

        The official SDK's parameters, in its order. Handlers may be plain functions or
        coroutines: ``on_connected()``, ``on_disconnected()``, ``on_video_frame(VideoFrame)``,
        ``on_stream_started(stream_id)``, ``on_stream_ended()``,
        ``on_interact_acknowledged(prompt)``, ``on_broadcast_ready(BroadcastInfo)`` (after
        ``start_stream(..., broadcast=True)``), ``on_stream_error(reason, message)``,
        ``on_error(error, fatal)`` (a drop being retried, or the fatal one),
        ``on_status_change(ConnectionStatus, message)``. Raises
        :class:`~ithaca.errors.ConnectionError` (or the error class of the server's refusal)
        when it cannot connect. Called again while connected, does nothing.
        """
        if self._session is not None and self._session.status not in ("disconnected", "failed"):
            return
        creds = (
            credentials
            if isinstance(credentials, ClientCredentials)
            else ClientCredentials.from_dict(credentials)
        )
        handlers = {
            "on_connected": on_connected,
            "on_disconnected": on_disconnected,
            "on_video_frame": on_video_frame,
            "on_stream_started": on_stream_started,
            "on_stream_ended": on_stream_ended,
            "on_interact_acknowledged": on_interact_acknowledged,
            "on_broadcast_ready": on_broadcast_ready,
            "on_stream_error": on_stream_error,
            "on_error": on_error,
            "on_status_change": on_status_change,
        }
        self._session = StreamSession(creds, handlers, options or self._options)
        await self._session.connect()

    async def connect(
        self,
        on_connected: Handler | None = None,
        on_disconnected: Handler | None = None,
        on_video_frame: Handler | None = None,
        on_stream_started: Handler | None = None,
        on_stream_ended: Handler | None = None,
        on_interact_acknowledged: Handler | None = None,
        on_broadcast_ready: Handler | None = None,
        on_stream_error: Handler | None = None,
        on_error: Handler | None = None,
        on_status_change: Handler | None = None,
        *,
        options: StreamOptions | None = None,
    ) -> None:
        """With the API key (a backend, a notebook): mints client credentials, then
        :meth:`connect_with_credentials` with the same handlers."""
        await self.connect_with_credentials(
            await self.create_client_credentials(),
            on_connected,
            on_disconnected,
            on_video_frame,
            on_stream_started,
            on_stream_ended,
            on_interact_acknowledged,
            on_broadcast_ready,
            on_stream_error,
            on_error,
            on_status_change,
            options=options,
        )

    def _live(self) -> StreamSession:
        if self._session is None:
            raise ConnectionError("not connected", code="not_connected")
        return self._session

    async def start_stream(
        self,
        prompt: str = "",
        portrait: bool = True,
        image: Any | None = None,
        image_path: str | None = None,
        bypass_prompt_expansion: bool | None = None,
        broadcast: bool = False,
        params: Mapping[str, Any] | None = None,
    ) -> str:
        """Starts a stream; returns its stream id. The official SDK's parameters: ``portrait``
        (704x1280; False: 1280x704); ``image`` a data URL, a file path, image bytes, a PIL image
        or an HxWx3 uint8 array (sent over signaling as it is: not resized);
        ``image_path`` the deprecated spelling of a path; ``bypass_prompt_expansion`` is sent,
        and ignored by Ithaca's streamers; ``broadcast=True``: spectators may watch,
        ``on_broadcast_ready(BroadcastInfo)`` is called once they can. ``params`` (an Ithaca
        addition): the model's generation parameters, a mapping of at most 16 KiB as JSON
        (:meth:`list_models` shows the ones each model declares), sent only when given;
        refused with ``invalid_params`` when the model does not accept them."""
        if image_path is not None:
            warnings.warn(
                "image_path is deprecated, use image instead", DeprecationWarning, stacklevel=2
            )
            image = image if image is not None else image_path
        if params is not None and not isinstance(params, Mapping):
            raise TypeError("params must be a mapping")
        return await self._live().start_stream(
            prompt, portrait, image, broadcast, bypass_prompt_expansion, params
        )

    @property
    def broadcast(self) -> BroadcastInfo | None:
        """The running stream's :class:`BroadcastInfo` once ``on_broadcast_ready`` was called."""
        return self._session.broadcast if self._session else None

    async def interact(self, prompt: str) -> str:
        """Changes the running stream's prompt; returns the acknowledged prompt."""
        return await self._live().interact(prompt)

    async def end_stream(self) -> None:
        """Ends the running stream, once the streamer says it ended."""
        await self._live().end_stream()

    async def disconnect(self) -> None:
        """Clean disconnect (``client_disconnecting``, close 1000); calls ``on_disconnected``."""
        if self._session is not None:
            await self._session.disconnect()

    async def create_spectator_token(self, session_id: str) -> BroadcastInfo:
        """Another spectator token for a session's live broadcast (one per viewer, say):
        ``POST {api_url}/v1/sessions/{session_id}/spectator_tokens`` with the API key.

        Raises like :meth:`create_client_credentials`; ``stream_not_found`` (404) when the
        session broadcasts nothing.
        """
        if not isinstance(session_id, str) or session_id == "":
            raise ValueError("session_id must be a non-empty string")
        data = await self._post_with_key(
            f"/v1/sessions/{quote(session_id, safe='')}/spectator_tokens", {}
        )
        try:
            return BroadcastInfo.from_dict(data)
        except (ValueError, AttributeError) as cause:
            raise IthacaError(
                "the spectator token answer lacks spectator_token or webrtc_url",
                code="invalid_response",
            ) from cause

    async def create_client_credentials(
        self,
        metadata: Mapping[str, str] | None = None,
        *,
        capabilities: Mapping[str, bool] | None = None,
        model: str | None = None,
    ) -> ClientCredentials:
        """Mint client credentials: ``POST {api_url}/v1/client_credentials`` with the API key.

        Raises :class:`~ithaca.errors.AuthError` (``missing_api_key``) without a key,
        ``ValueError`` without an API URL, :class:`~ithaca.errors.ConnectionError`
        (``network_error``, retryable) when the server cannot be reached, and the error class of
        the answer's code (see :func:`~ithaca.errors.error_from_code`) for an error answer.
        ``model`` places the session on a streamer serving that model (absent: the server's
        default model, else any); one no streamer serves raises ``unknown_model``.
        """
        body: dict[str, Any] = {}
        if metadata is not None:
            body["metadata"] = dict(metadata)
        if capabilities is not None:
            body["capabilities"] = dict(capabilities)
        if model is not None:
            body["model"] = model
        return ClientCredentials.from_dict(
            await self._post_with_key("/v1/client_credentials", body)
        )

    async def list_models(self) -> dict[str, Any]:
        """The models this deployment serves: ``GET {api_url}/v1/models`` with the API key,
        as the server answers it: ``{"models": [{"name", "version", "formats", "params",
        "image_to_video", "max_sessions", "streamers", "capacity", "in_use"}], "default"}``.
        Raises like :meth:`create_client_credentials`."""
        data = await self._request_with_key("GET", "/v1/models", None)
        if not isinstance(data, dict) or not isinstance(data.get("models"), list):
            raise IthacaError("the models answer lacks models", code="invalid_response")
        return data

    async def _post_with_key(self, route: str, body: Mapping[str, Any]) -> Any:
        return await self._request_with_key("POST", route, body)

    async def _request_with_key(
        self, method: str, route: str, body: Mapping[str, Any] | None
    ) -> Any:
        """``{method} {api_url}{route}`` with the API key (and a JSON body unless None): the
        parsed JSON answer, or the typed error of an error answer."""
        api_key = self._api_key
        if not isinstance(api_key, str) or api_key == "":
            raise AuthError(
                "No API key: pass api_key or set ITHACA_API_KEY.", code="missing_api_key"
            )
        api_url = self._api_url
        if not isinstance(api_url, str) or api_url == "":
            raise ValueError(
                "No API URL: pass api_url or set ITHACA_API_URL (e.g. http://127.0.0.1:8080)."
            )
        url = api_url.rstrip("/") + route

        try:
            async with httpx.AsyncClient(
                timeout=self._timeout, transport=self._transport, trust_env=False
            ) as http:
                headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
                content = None
                if body is not None:
                    headers["Content-Type"] = "application/json"
                    content = json.dumps(body, separators=(",", ":")).encode()
                response = await http.request(method, url, content=content, headers=headers)
        except httpx.TransportError as cause:
            message = f"Could not reach {url}: {type(cause).__name__}: {cause}"
            raise ConnectionError(
                message.replace(api_key, "<api key>"), code="network_error", retryable=True
            ) from cause

        try:
            data = response.json()
        except ValueError:
            data = None
            parsed = False
        else:
            parsed = True
        if response.is_success:
            if not parsed:
                raise IthacaError(
                    f"{url} answered {response.status_code} with a body that is not JSON",
                    code="invalid_response",
                    status=response.status_code,
                )
            return data
        raise _error_from_response(response, data)


def _error_from_response(response: httpx.Response, data: Any) -> IthacaError:
    status = response.status_code
    detail = data.get("detail") if isinstance(data, dict) else None
    code = None
    if isinstance(detail, dict):
        if isinstance(detail.get("code"), str):
            code = detail["code"]
        elif isinstance(detail.get("error"), str):  # Odyssey's spelling
            code = detail["error"]
    if code is not None and isinstance(detail, dict):
        details = dict(detail["details"]) if isinstance(detail.get("details"), dict) else {}
        retry_after = _retry_after(response.headers.get("retry-after"))
        if (
            code == "RATE_LIMITED"
            and "retry_after_seconds" not in details
            and retry_after is not None
        ):
            details["retry_after_seconds"] = retry_after
        return error_from_code(
            code,
            detail.get("message"),
            retryable=detail.get("retryable"),
            action=detail.get("action"),
            details=details,
            status=status,
        )
    # Not Ithaca's error shape (a proxy in between, say): classify by status alone.
    message = f"HTTP {status} from the API"
    code = f"http_{status}"
    if status in (401, 403):
        return AuthError(message, code=code, status=status)
    if status == 429:
        return UsageError(message, code=code, status=status, retryable=True)
    if status >= 500:
        return ConnectionError(message, code=code, status=status, retryable=status != 500)
    return IthacaError(message, code=code, status=status)


def _retry_after(header: str | None) -> int | float | None:
    """Retry-After in delta-seconds (an HTTP date is not read)."""
    if header is None:
        return None
    try:
        seconds = float(header.strip())
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return int(seconds) if seconds.is_integer() else seconds
