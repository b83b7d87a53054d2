"""The official Odyssey SDK's names for what this SDK has under its own names, so that moving
an app over is changing ``from odyssey import ...`` to ``from ithaca import ...``.

Each alias is the same object, not a copy: ``except OdysseyAuthError`` catches this SDK's
:class:`~ithaca.errors.AuthError`, ``Odyssey`` is :class:`~ithaca.client.Ithaca`. The table of
every official name and ours is in sdks/python/README.md; tests/test_odyssey_api.py holds this
SDK to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .broadcast import BroadcastInfo
from .client import Ithaca
from .errors import AuthError, ConnectionError, IthacaError, StreamError, UsageError
from .stream import Status
from .video_frame import VideoFrame

__all__ = [
    "BroadcastReadyCallback",
    "ConnectedCallback",
    "ConnectionStatus",
    "DisconnectedCallback",
    "ErrorCallback",
    "InteractAcknowledgedCallback",
    "Odyssey",
    "OdysseyAuthError",
    "OdysseyConnectionError",
    "OdysseyError",
    "OdysseyEventHandlers",
    "OdysseyStreamError",
    "OdysseyUsageError",
    "StatusChangeCallback",
    "StreamEndedCallback",
    "StreamErrorCallback",
    "StreamStartedCallback",
    "VideoFrameCallback",
]

Odyssey = Ithaca
ConnectionStatus = Status

OdysseyError = IthacaError
OdysseyAuthError = AuthError
OdysseyConnectionError = ConnectionError
OdysseyStreamError = StreamError
OdysseyUsageError = UsageError

# The handlers' shapes. Ours may also be coroutines, and return anything.
VideoFrameCallback = Callable[[VideoFrame], None]
ConnectedCallback = Callable[[], None]
DisconnectedCallback = Callable[[], None]
StreamStartedCallback = Callable[[str], None]  # stream_id
StreamEndedCallback = Callable[[], None]
StreamErrorCallback = Callable[[str, str], None]  # reason, message
InteractAcknowledgedCallback = Callable[[str], None]  # prompt
BroadcastReadyCallback = Callable[[BroadcastInfo], None]
ErrorCallback = Callable[[Exception, bool], None]  # error, fatal
StatusChangeCallback = Callable[[Status, "str | None"], None]  # status, message


@dataclass
class OdysseyEventHandlers:
    """Every handler ``connect`` / ``connect_with_credentials`` take, by name: pass
    ``**vars(handlers)`` to either."""

    on_connected: ConnectedCallback | None = None
    on_disconnected: DisconnectedCallback | None = None
    on_video_frame: VideoFrameCallback | None = None
    on_stream_started: StreamStartedCallback | None = None
    on_stream_ended: StreamEndedCallback | None = None
    on_interact_acknowledged: InteractAcknowledgedCallback | None = None
    on_broadcast_ready: BroadcastReadyCallback | None = None
    on_stream_error: StreamErrorCallback | None = None
    on_error: ErrorCallback | None = None
    on_status_change: StatusChangeCallback | None = None
