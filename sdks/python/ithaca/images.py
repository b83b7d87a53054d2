"""Images for image-to-video: whatever ``start_stream(image=...)`` takes, as the data URL the
wire's ``input_image_base64`` carries. The official SDK takes the same kinds of image."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["image_data_url", "png_bytes"]

_SIGNATURES = (
    (b"\x89PNG", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"RIFF", "image/webp"),
)


def image_data_url(image: Any) -> str | None:
    """A data URL for ``image``: a data URL (kept), a file path, PNG/JPEG/GIF/WebP bytes, a PIL
    image, or an HxWx3 uint8 RGB array; None for None or "". Raises ``ValueError`` for a file
    that does not exist or anything else."""
    if image is None or (isinstance(image, str) and image == ""):
        return None
    if isinstance(image, str):
        if image.startswith("data:"):
            return image
        path = Path(image)
        if not path.is_file():
            raise ValueError(f"image file not found: {image}")
        return _encode(path.read_bytes())
    if isinstance(image, bytes | bytearray | memoryview):
        return _encode(bytes(image))
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError("an image array must be HxWx3 uint8 RGB")
        return _encode(png_bytes(image))
    if callable(getattr(image, "save", None)):  # a PIL image, without importing PIL
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return _encode(buffer.getvalue())
    raise ValueError(f"unsupported image type: {type(image).__name__}")


def _encode(data: bytes) -> str:
    mime = next((m for sig, m in _SIGNATURES if data.startswith(sig)), None)
    if mime is None:
        raise ValueError("image bytes are not PNG, JPEG, GIF or WebP")
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def png_bytes(rgb: np.ndarray) -> bytes:
    """A minimal PNG (8-bit RGB, no filter): no imaging library needed."""
    height, width, _ = rgb.shape
    rows = np.hstack([np.zeros((height, 1), np.uint8), rgb.reshape(height, width * 3)])

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + chunk(b"IEND", b"")
    )
