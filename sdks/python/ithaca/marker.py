"""Reads the frame marker (ithaca/media/frame_marker.hpp) from a decoded RGB frame: the prompt
sequence number every frame carries, so prompt-to-photon latency is measured from video alone."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["decode_marker"]

_BLOCKS = 22
_MIN_CONTRAST = 64


def decode_marker(rgb: np.ndarray, scale: float | None = None) -> int | None:
    """The sequence number in an HxWx3 uint8 frame, or None when there is no readable marker.

    ``scale`` defaults to width / 1280 (landscape) or width / 704 (portrait).
    """
    height, width = rgb.shape[:2]
    if scale is None:
        scale = width / (704 if height > width else 1280)
    levels = []
    y0, y1 = _round(4 * scale), _round(12 * scale)
    for i in range(_BLOCKS):
        x0, x1 = _round((32 * i + 8) * scale), _round((32 * i + 24) * scale)
        if x1 > width or y1 > height or x1 <= x0 or y1 <= y0:
            return None
        block = rgb[y0:y1, x0:x1].astype(np.int32)
        luma = (77 * block[..., 0] + 150 * block[..., 1] + 29 * block[..., 2]) >> 8
        levels.append(float(luma.mean()))
    white, black = levels[0], levels[1]
    if white - black < _MIN_CONTRAST:
        return None
    threshold = (white + black) / 2
    margin = (white - black) / 4
    bits = []
    for level in levels[2:]:
        if abs(level - threshold) < margin:
            return None
        bits.append(1 if level > threshold else 0)
    sequence = int("".join(map(str, bits[:16])), 2)
    check = int("".join(map(str, bits[16:])), 2)
    expected = (sequence ^ (sequence >> 4) ^ (sequence >> 8) ^ (sequence >> 12) ^ 0xA) & 0xF
    return sequence if check == expected else None


def _round(v: float) -> int:
    """Half up, as the C++ and JavaScript readers round (Python's round() goes to even)."""
    return math.floor(v + 0.5)
