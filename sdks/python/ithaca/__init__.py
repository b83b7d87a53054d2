"""Ithaca Python SDK: client credentials, typed errors, server-side minting.

Streaming: ``await Ithaca().connect_with_credentials(creds, on_video_frame=...)`` (aiortc).
Spectators: ``await connect_to_stream(webrtc_url, spectator_token, on_video_frame=...)`` (WHEP).
"""

from .broadcast import BroadcastInfo
from .capabilities import StreamerCapabilities
from .client import Ithaca
from .config import AdvancedConfig, ClientConfig
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
from .hosted_only import (
    Recording,
    SimulationJobDetail,
    SimulationJobInfo,
    SimulationJobsList,
    SimulationJobStatus,
    SimulationStream,
    StreamRecordingInfo,
    StreamRecordingsList,
)
from .odyssey_compat import (
    BroadcastReadyCallback,
    ConnectedCallback,
    ConnectionStatus,
    DisconnectedCallback,
    ErrorCallback,
    InteractAcknowledgedCallback,
    Odyssey,
    OdysseyAuthError,
    OdysseyConnectionError,
    OdysseyError,
    OdysseyEventHandlers,
    OdysseyStreamError,
    OdysseyUsageError,
    StatusChangeCallback,
    StreamEndedCallback,
    StreamErrorCallback,
    StreamStartedCallback,
    VideoFrameCallback,
)
from .spectator import SpectatorConnection, connect_to_stream
from .stream import STATUSES, Status, StreamOptions
from .video_frame import VideoFrame

__version__ = "0.1.0"

# Ours first, then the official SDK's names (ithaca/odyssey_compat.py, README's table).
__all__ = [
    "KNOWN_CODES",
    "STATUSES",
    "AccountSuspendedError",
    # The official SDK's names
    "AdvancedConfig",
    "AuthError",
    "BroadcastInfo",
    "BroadcastReadyCallback",
    "ClientConfig",
    "ClientCredentials",
    "ConcurrentLimitReachedError",
    "ConnectedCallback",
    "ConnectionError",
    "ConnectionStatus",
    "CredentialsError",
    "DisconnectedCallback",
    "ErrorCallback",
    "InteractAcknowledgedCallback",
    "Ithaca",
    "IthacaError",
    "MonthlyLimitReachedError",
    "Odyssey",
    "OdysseyAuthError",
    "OdysseyConnectionError",
    "OdysseyError",
    "OdysseyEventHandlers",
    "OdysseyStreamError",
    "OdysseyUsageError",
    "RateLimitError",
    "Recording",
    "RequestError",
    "ServerError",
    "SimulationJobDetail",
    "SimulationJobInfo",
    "SimulationJobStatus",
    "SimulationJobsList",
    "SimulationStream",
    "SpectatorConnection",
    "Status",
    "StatusChangeCallback",
    "StreamDurationExceededError",
    "StreamEndedCallback",
    "StreamError",
    "StreamErrorCallback",
    "StreamOptions",
    "StreamRecordingInfo",
    "StreamRecordingsList",
    "StreamStartedCallback",
    "StreamerCapabilities",
    "UsageError",
    "VideoFrame",
    "VideoFrameCallback",
    "__version__",
    "connect_to_stream",
    "error_from_code",
    "extract_session_id",
    "redact_token",
]
