"""The decoded video frame every handler gets (streaming client and spectators alike)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["VideoFrame"]


@dataclass(frozen=True)
class VideoFrame:
    """One decoded frame, shaped like the official SDK's ``VideoFrame``.

    ``data`` is an HxWx3 uint8 RGB array; ``timestamp_ms`` the RTP presentation time in whole
    milliseconds. ``received_at`` (ours) is ``time.monotonic()`` when it was decoded.
    """

    data: np.ndarray
    width: int
    height: int
    timestamp_ms: int
    received_at: float = 0.0

    @property
    def rgb(self) -> np.ndarray:
        """``data`` under this SDK's earlier name."""
        return self.data

    @property
    def timestamp(self) -> float:
        """``timestamp_ms`` in seconds (this SDK's earlier field)."""
        return self.timestamp_ms / 1000


def timestamp_ms(frame: object) -> int:
    """An av frame's presentation time in whole milliseconds; 0 without one."""
    pts = getattr(frame, "pts", None)
    time_base = getattr(frame, "time_base", None)
    if pts is None or time_base is None:
        return 0
    return int(pts * time_base * 1000)
