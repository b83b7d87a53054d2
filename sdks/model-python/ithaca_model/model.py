"""What a model author writes: Model (one session), BatchedModel (several), Capabilities, Param."""

import logging
from dataclasses import dataclass, field
from typing import Any

_TYPES = {int: "integer", float: "number", str: "string", bool: "boolean"}


@dataclass(frozen=True)
class Param:
    """One generation parameter a stream may pass in startStream's params."""

    type: Any  # int, float, str, bool (or "integer", "number", "string", "boolean")
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None

    def describe(self) -> dict:
        kind = _TYPES.get(self.type, self.type)
        if kind not in _TYPES.values():
            raise ValueError(f"Param type {self.type!r} is not int, float, str or bool")
        out: dict = {"type": kind}
        for key in ("minimum", "maximum", "max_length"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


@dataclass(frozen=True)
class Capabilities:
    """Frame sizes (width, height) per orientation, frame rate, and what streams may ask for."""

    landscape: tuple[int, int] = (1280, 704)
    portrait: tuple[int, int] = (704, 1280)
    fps: int = 30
    image_to_video: bool = False
    max_sessions: int = 1
    params: dict[str, Param] = field(default_factory=dict)

    def __post_init__(self):
        for size in (self.landscape, self.portrait):
            if len(size) != 2 or any(not isinstance(n, int) or n <= 0 or n % 2 for n in size):
                raise ValueError(f"frame size {size!r} is not two positive even ints")
        if not isinstance(self.fps, int) or self.fps <= 0:
            raise ValueError(f"fps {self.fps!r} is not a positive int")
        if not isinstance(self.max_sessions, int) or self.max_sessions < 1:
            raise ValueError(f"max_sessions {self.max_sessions!r} is not a positive int")

    def size(self, portrait: bool) -> tuple[int, int]:
        return self.portrait if portrait else self.landscape


@dataclass(frozen=True)
class Context:
    """What load() gets: the worker's id, the extra command-line args, a logger."""

    worker_id: int
    args: list[str]
    log: logging.Logger


@dataclass(eq=False)
class Session:
    """One stream of a BatchedModel: stable for the stream, `.id` is its lane."""

    id: int
    portrait: bool


class Model:
    """A world model serving one stream at a time. Override next_frames (and the others)."""

    name: str | None = None  # default: the class name
    version: str = "0"
    capabilities = Capabilities()

    def load(self, ctx: Context) -> None:
        """Once per worker: weights, compile, warm up."""

    def start(self, prompt: str, portrait: bool, image):
        """A stream begins; returns the applied prompt."""
        return prompt

    def interact(self, prompt: str):
        """A new prompt, shown from the next step; returns the applied prompt."""
        return prompt

    def next_frames(self):
        """One HxWx3 uint8 frame, or a list of them (a chunk)."""
        raise NotImplementedError("next_frames")

    def end(self) -> None:
        """The stream is over."""


class BatchedModel:
    """A world model serving up to capabilities.max_sessions streams, stepped together."""

    name: str | None = None
    version: str = "0"
    capabilities = Capabilities()

    def load(self, ctx: Context) -> None:
        """Once per worker: weights, compile, warm up."""

    def start(self, session: Session, prompt: str, portrait: bool, image):
        return prompt

    def interact(self, session: Session, prompt: str):
        return prompt

    def next_frames(self, sessions: list[Session]) -> list:
        """One frame or chunk per session, in the order given."""
        raise NotImplementedError("next_frames")

    def end(self, session: Session) -> None:
        """The session's stream is over."""
