"""What a host's ``broadcast_ready`` event says (docs/odyssey-compatibility.md sections 8, 9)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .credentials import redact_token

__all__ = ["BroadcastInfo"]


@dataclass(frozen=True)
class BroadcastInfo:
    """What a host's ``broadcast_ready`` says (``on_broadcast_ready``), or what
    ``Ithaca.create_spectator_token`` answers: where and with which token spectators watch.

    The official SDK's three fields come first, in its order; ``stream_id``, ``expires_in`` and
    ``raw`` are ours. ``hls_url`` is the wire's ``broadcast_url`` (None without HLS); ``raw`` is
    the message as received, unknown fields included.
    """

    hls_url: str | None
    webrtc_url: str
    spectator_token: str
    stream_id: str | None = None
    expires_in: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __repr__(self) -> str:
        # Never the whole token (it admits anyone to the broadcast while it lasts).
        return (
            f"BroadcastInfo(webrtc_url={self.webrtc_url!r}, hls_url={self.hls_url!r}, "
            f"spectator_token={redact_token(self.spectator_token)}, stream_id={self.stream_id!r})"
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BroadcastInfo:
        """Reads a ``broadcast_ready`` message or a spectator token answer. Raises
        ``ValueError`` without a string ``webrtc_url`` and ``spectator_token``."""
        webrtc_url = data.get("webrtc_url")
        token = data.get("spectator_token")
        if not isinstance(webrtc_url, str) or not isinstance(token, str) or not token:
            raise ValueError("a broadcast needs a string webrtc_url and spectator_token")
        hls = data.get("broadcast_url")
        stream_id = data.get("stream_id")
        expires_in = data.get("expires_in")
        return cls(
            webrtc_url=webrtc_url,
            hls_url=hls if isinstance(hls, str) else None,
            spectator_token=token,
            stream_id=stream_id if isinstance(stream_id, str) else None,
            expires_in=expires_in
            if isinstance(expires_in, int) and not isinstance(expires_in, bool)
            else None,
            raw=dict(data),
        )
