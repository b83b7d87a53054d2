"""Typed errors, one class per family, for every code of the error catalog. Mirrors
sdks/js/src/errors.js: the same class for every code.

The table is loaded at import from ``ithaca/errors.json``, package data that is a copy of the
repository's spec/errors.json (written by scripts/gen_error_catalog.py); this module holds only
the classes. tests/test_errors.py fails when the copy is stale.

Note: ``ithaca.ConnectionError`` shadows the built-in of the same name inside this module; it is
*not* a subclass of the built-in ``ConnectionError`` (an ``OSError``). Catch it as
``ithaca.ConnectionError`` or ``ithaca.IthacaError``.
"""

from __future__ import annotations

import json
import math
from importlib import resources
from typing import Any

__all__ = [
    "CATALOG",
    "KNOWN_CODES",
    "AccountSuspendedError",
    "AuthError",
    "ConcurrentLimitReachedError",
    "ConnectionError",
    "CredentialsError",
    "IthacaError",
    "MonthlyLimitReachedError",
    "RateLimitError",
    "RequestError",
    "ServerError",
    "StreamDurationExceededError",
    "StreamError",
    "UsageError",
    "error_from_code",
]


class IthacaError(Exception):
    """Base of every error the SDK raises on purpose.

    Attributes: ``code`` (wire error code), ``message``, ``retryable``, ``action`` (what the caller
    should do, or None), ``details`` (a dict, never None), ``status`` (HTTP status, or None).
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "error",
        retryable: bool = False,
        action: str | None = None,
        details: dict[str, Any] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.retryable = retryable is True
        self.action = action if isinstance(action, str) else None
        self.details: dict[str, Any] = dict(details) if isinstance(details, dict) else {}
        self.status = status if isinstance(status, int) and not isinstance(status, bool) else None

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class AuthError(IthacaError):
    """Missing, invalid or revoked API key or token; a credential may not do this."""


class ConnectionError(IthacaError):  # Shadows the built-in on purpose: the JS SDK's name.
    """The connection could not be made or was lost; the session or streamer is gone or busy."""


class StreamError(IthacaError):
    """A stream command was refused (no stream running, bad image, missing capability...)."""


class UsageError(IthacaError):
    """The account hit one of its limits."""


class ConcurrentLimitReachedError(UsageError):
    """Too many concurrent sessions (details: ``active_count``, ``limit``)."""


class MonthlyLimitReachedError(UsageError):
    """The monthly usage quota is spent (hosted Odyssey only)."""


class StreamDurationExceededError(UsageError):
    """A stream ran past its duration limit (details: ``max_duration_seconds``)."""


class AccountSuspendedError(UsageError):
    """The account is suspended (details: ``reason``)."""


class RateLimitError(UsageError):
    """Too many requests (details: ``retry_after_seconds``)."""

    @property
    def retry_after_seconds(self) -> float | None:
        """Seconds to wait before retrying (``details["retry_after_seconds"]``), or None."""
        s = self.details.get("retry_after_seconds")
        if isinstance(s, bool) or not isinstance(s, (int, float)) or not math.isfinite(s):
            return None
        return s


class RequestError(IthacaError):
    """The request itself is wrong (malformed body, unknown route or session)."""


class ServerError(IthacaError):
    """The server failed or is unavailable for a while (store down, shutting down, internal)."""


class CredentialsError(IthacaError, ValueError):
    """A credentials dict or session token does not have the shape section 1 requires.

    ``code`` is ``missing_field``, ``wrong_type`` or ``invalid_token``; ``field`` names the field
    (empty when :func:`error_from_code` made it). Also a ``ValueError``.
    """

    def __init__(self, message: str, *, code: str, field: str = "", **extras: Any) -> None:
        super().__init__(message, code=code, **extras)
        self.field = field


# A catalog family (an error class's name) -> the class.
_FAMILIES: dict[str, type[IthacaError]] = {
    cls.__name__: cls
    for cls in (
        IthacaError,
        AuthError,
        ConnectionError,
        StreamError,
        UsageError,
        ConcurrentLimitReachedError,
        MonthlyLimitReachedError,
        StreamDurationExceededError,
        AccountSuspendedError,
        RateLimitError,
        RequestError,
        ServerError,
        CredentialsError,
    )
}


def _load_catalog() -> tuple[dict[str, Any], ...]:
    text = resources.files(__package__).joinpath("errors.json").read_text(encoding="utf-8")
    data = json.loads(text)
    return tuple(e for name in ("errors", "odyssey_errors", "sdk_errors") for e in data[name])


#: Every entry of the catalog (``code``, ``family``, ``retryable``, ``message``, ``action``?, and
#: for the server's codes ``http_status`` and ``ws_close_code``): the codes the server sends, then
#: those the hosted Odyssey API sends and Ithaca does not, then those the SDK raises itself.
CATALOG: tuple[dict[str, Any], ...] = _load_catalog()

# code -> (class, retryable), for every code of the catalog.
_CODES: dict[str, tuple[type[IthacaError], bool]] = {
    e["code"]: (_FAMILIES.get(e["family"], IthacaError), e["retryable"] is True) for e in CATALOG
}

#: The codes :func:`error_from_code` knows: every code of the catalog, in its order.
KNOWN_CODES: tuple[str, ...] = tuple(_CODES)


def error_from_code(
    code: str,
    message: str | None = None,
    *,
    retryable: bool | None = None,
    action: str | None = None,
    details: dict[str, Any] | None = None,
    status: int | None = None,
) -> IthacaError:
    """The error for a wire error code. An unknown code gives a plain :class:`IthacaError`.

    ``retryable`` overrides the catalog's value when it is a bool. An empty or missing message
    becomes the code itself.
    """
    known = _CODES.get(code) if isinstance(code, str) else None
    cls = known[0] if known else IthacaError
    default = known[1] if known else False
    flag = retryable if isinstance(retryable, bool) else default
    text = message if isinstance(message, str) and message != "" else str(code)
    return cls(text, code=str(code), retryable=flag, action=action, details=details, status=status)
