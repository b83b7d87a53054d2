"""The official SDK's configuration objects, with what each field means here.

``Ithaca(api_key, api_url, debug=..., advanced=AdvancedConfig(...))`` takes the same keywords
as the official ``Odyssey(api_key, **kwargs)``; ``advanced`` becomes the reconnect tuning of
:class:`~ithaca.stream.StreamOptions`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .errors import AuthError
from .stream import StreamOptions

__all__ = ["AdvancedConfig", "ClientConfig", "default_api_url", "stream_options_from"]


def default_api_url() -> str | None:
    """``ITHACA_API_URL``, else ``ODYSSEY_API_URL`` (an app that pointed the official SDK at
    this server keeps working), else None: Ithaca has no hosted default."""
    return os.environ.get("ITHACA_API_URL") or os.environ.get("ODYSSEY_API_URL") or None


@dataclass(frozen=True)
class AdvancedConfig:
    """Connection retries. ``max_retries`` is reconnect attempts per drop; the delays are the
    backoff's start and cap. Ours always doubles (``retry_backoff_multiplier`` is accepted,
    not used) and has no streamer queue (``queue_timeout_s`` is accepted, not used: a mint
    with no free streamer fails at once with ``no_streamer_available``)."""

    max_retries: int = 5
    initial_retry_delay_ms: int = 1000
    max_retry_delay_ms: int = 2000
    retry_backoff_multiplier: float = 2.0
    queue_timeout_s: int = 30


@dataclass
class ClientConfig:
    """The official SDK's client configuration: ``Ithaca(**vars(config))`` takes it."""

    api_key: str = ""
    api_url: str | None = field(default_factory=default_api_url)
    debug: bool = False
    advanced: AdvancedConfig = field(default_factory=AdvancedConfig)

    def __post_init__(self) -> None:
        if not isinstance(self.api_key, str):
            raise TypeError("api_key must be a string")

    def require_api_key(self) -> str:
        """The key; :class:`~ithaca.errors.AuthError` ``missing_api_key`` when it is empty."""
        if self.api_key.strip() == "":
            raise AuthError("No API key: pass api_key.", code="missing_api_key")
        return self.api_key


def stream_options_from(advanced: AdvancedConfig) -> StreamOptions:
    """The reconnect tuning an :class:`AdvancedConfig` asks for."""
    return StreamOptions(
        reconnect_attempts=max(0, advanced.max_retries),
        reconnect_base=advanced.initial_retry_delay_ms / 1000,
        reconnect_max=advanced.max_retry_delay_ms / 1000,
    )
