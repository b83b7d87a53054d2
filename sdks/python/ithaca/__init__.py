"""Ithaca Python SDK: client credentials, typed errors, server-side minting.

Streaming: ``await Ithaca().connect_with_credentials(creds, on_video_frame=...)`` (aiortc).
Spectators: ``await connect_to_stream(webrtc_url, spectator_token, on_video_frame=...)`` (WHEP).
"""

from .broadcast import BroadcastInfo
from .client import Ithaca
from .credentials import ClientCredentials, extract_session_id, redact_token
from .errors import (
    KNOWN_CODES,
    AccountSuspendedError,
    AuthError,
    ConcurrentLimitReachedError,
    ConnectionError,
    CredentialsError,
    IthacaError,
    MonthlyLimitReachedError,
    RateLimitError,
    RequestError,
    ServerError,
    StreamDurationExceededError,
    StreamError,
    UsageError,
    error_from_code,
)
from .spectator import SpectatorConnection, connect_to_stream
from .stream import STATUSES, Status, StreamOptions, VideoFrame

__version__ = "0.1.0"

__all__ = [
    "KNOWN_CODES",
    "STATUSES",
    "AccountSuspendedError",
    "AuthError",
    "BroadcastInfo",
    "ClientCredentials",
    "ConcurrentLimitReachedError",
    "ConnectionError",
    "CredentialsError",
    "Ithaca",
    "IthacaError",
    "MonthlyLimitReachedError",
    "RateLimitError",
    "RequestError",
    "ServerError",
    "SpectatorConnection",
    "Status",
    "StreamDurationExceededError",
    "StreamError",
    "StreamOptions",
    "UsageError",
    "VideoFrame",
    "__version__",
    "connect_to_stream",
    "error_from_code",
    "extract_session_id",
    "redact_token",
]
