"""Frames a model returns: checked (HxWx3 uint8 of the lane's size), then copied into a slot.

Accepted: numpy arrays, anything with __array__, anything with __dlpack__ (torch tensors on
the CPU or on CUDA). A CUDA tensor is copied straight into the slot with torch when torch is
importable; torch is never required otherwise.
"""

import numpy as np

_DLPACK_CPU = 1


class BadOutput(Exception):
    """A frame of the wrong kind, shape, dtype or size; the message names expected vs got."""


def _expected(height: int, width: int) -> str:
    return f"expected a {height}x{width}x3 uint8 frame (height x width x 3)"


def _device_of(frame) -> int:
    if hasattr(frame, "__dlpack_device__"):
        try:
            return int(frame.__dlpack_device__()[0])
        except Exception:
            return _DLPACK_CPU
    return _DLPACK_CPU


def prepare(frame, height: int, width: int):
    """A checked frame ready for `copy_into`: a numpy array, or a torch tensor on a device."""
    want = _expected(height, width)
    if isinstance(frame, np.ndarray):
        array = frame
    elif _device_of(frame) != _DLPACK_CPU:
        return _prepare_device(frame, height, width)
    elif hasattr(frame, "__dlpack__"):
        try:
            array = np.from_dlpack(frame)
        except Exception as e:
            raise BadOutput(f"{want}, got a {type(frame).__name__} numpy cannot read: {e}") from e
    elif hasattr(frame, "__array__"):
        array = np.asarray(frame)
    else:
        raise BadOutput(f"{want}, got a {type(frame).__name__}")
    if array.shape != (height, width, 3) or array.dtype != np.uint8:
        raise BadOutput(f"{want}, got shape {tuple(array.shape)} {array.dtype}")
    return array


def _prepare_device(frame, height: int, width: int):
    want = _expected(height, width)
    try:
        import torch
    except ImportError:
        got = f"got a {type(frame).__name__} on a device and torch is not installed"
        raise BadOutput(f"{want} on the CPU, {got}") from None
    tensor = frame if isinstance(frame, torch.Tensor) else torch.from_dlpack(frame)
    if tuple(tensor.shape) != (height, width, 3) or tensor.dtype != torch.uint8:
        got = f"got shape {tuple(tensor.shape)} {tensor.dtype} on {tensor.device}"
        raise BadOutput(f"{want}, {got}")
    return tensor


def copy_into(destination: np.ndarray, frame) -> None:
    """The one copy: a prepared frame into a slot's view."""
    if isinstance(frame, np.ndarray):
        np.copyto(destination, frame)
        return
    import torch

    torch.from_numpy(destination).copy_(frame)


def split(output) -> list:
    """A step's output for one lane as a list of frames (a chunk, or one frame)."""
    frames = list(output) if isinstance(output, list | tuple) else [output]
    if not frames:
        raise BadOutput("expected a frame or a non-empty list of frames, got an empty list")
    return frames
