"""Streamer capabilities: what a session's streamer can do (``image_to_video``...)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["StreamerCapabilities"]


class StreamerCapabilities(Mapping[str, Any]):
    """Read-only capabilities, shaped like the official SDK's ``StreamerCapabilities``
    (``image_to_video`` attribute, ``to_dict``, ``from_dict``) and still a mapping, as this SDK
    had them: ``caps["image_to_video"]`` works, and so does comparing with a dict.

    The wire's object is open, so unknown keys are kept and ``to_dict`` gives back exactly what
    was read (an empty one stays ``{}``, as spec/vectors/credentials.json requires).
    """

    __slots__ = ("_values",)

    def __init__(self, image_to_video: bool = False, **others: Any) -> None:
        self._values: dict[str, Any] = {"image_to_video": image_to_video is True, **others}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StreamerCapabilities:
        """Exactly the given keys (a copy: later changes to ``data`` do not show here)."""
        caps = cls.__new__(cls)
        caps._values = dict(data)
        return caps

    def to_dict(self) -> dict[str, Any]:
        """A fresh plain dict of every key."""
        return dict(self._values)

    @property
    def image_to_video(self) -> bool:
        """True only when the streamer says ``image_to_video: true``."""
        return self._values.get("image_to_video") is True

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"StreamerCapabilities({self._values!r})"
