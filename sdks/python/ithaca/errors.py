"""Typed errors, one class per family (odyssey-wire.md section 7), for every stable code of
spec/errors.json. Mirrors sdks/js/src/errors.js: the same class for every code.

tests/test_errors.py fails when the catalog gains a code ``_CODES`` lacks.

Note: ``ithaca.ConnectionError`` shadows the built-in of the same name inside this module; it is
*not* a subclass of the built-in ``ConnectionError`` (an ``OSError``). Catch it as
``ithaca.ConnectionError`` or ``ithaca.IthacaError``.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = [
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

    ``code`` is ``missing_field``, ``wrong_type`` or ``invalid_token``; ``field`` names the field.
    Also a ``ValueError``.
    """

    def __init__(self, message: str, *, code: str, field: str) -> None:
        super().__init__(message, code=code)
        self.field = field


# code -> (class, retryable). The stable codes of spec/errors.json, then the usage codes of the
# hosted Odyssey API that Ithaca does not send but an Odyssey-compatible server may.
_CODES: dict[str, tuple[type[IthacaError], bool]] = {
    "invalid_request": (RequestError, False),
    "invalid_json": (RequestError, False),
    "invalid_metadata": (RequestError, False),
    "missing_api_key": (AuthError, False),
    "invalid_api_key": (AuthError, False),
    "malformed_api_key": (AuthError, False),
    "api_key_revoked": (AuthError, False),
    "forbidden": (AuthError, False),
    "not_found": (RequestError, False),
    "method_not_allowed": (RequestError, False),
    "session_not_found": (RequestError, False),
    "session_ended": (ConnectionError, False),
    "session_already_connected": (ConnectionError, False),
    "credential_already_issued": (RequestError, False),
    "request_too_large": (RequestError, False),
    "unsupported_media_type": (RequestError, False),
    "CONCURRENT_LIMIT_REACHED": (ConcurrentLimitReachedError, True),
    "RATE_LIMITED": (RateLimitError, True),
    "token_malformed": (AuthError, False),
    "token_unsupported_alg": (AuthError, False),
    "token_unknown_kid": (AuthError, False),
    "token_bad_signature": (AuthError, False),
    "token_expired": (AuthError, False),
    "token_not_yet_valid": (AuthError, False),
    "token_wrong_audience": (AuthError, False),
    "token_wrong_role": (AuthError, False),
    "token_wrong_session": (AuthError, False),
    "token_revoked": (AuthError, False),
    "no_streamer_available": (ConnectionError, True),
    "streamer_not_available": (ConnectionError, True),
    "streamer_disconnected": (ConnectionError, False),
    "duration_limit_reached": (ConnectionError, False),
    "session_timeout": (StreamError, False),
    "invalid_command": (StreamError, False),
    "stream_not_active": (StreamError, False),
    "stream_already_active": (StreamError, False),
    "invalid_image": (StreamError, False),
    "capability_missing": (StreamError, False),
    "origin_not_allowed": (AuthError, False),
    "streamer_unauthorized": (AuthError, False),
    "streamer_failed": (ConnectionError, True),
    # Broadcast (WHEP): the spectator's token, the stream, the operator's cap per stream.
    "spectator_token_invalid": (AuthError, False),
    "stream_not_found": (StreamError, False),
    "spectator_limit_reached": (ConnectionError, True),
    "store_unavailable": (ServerError, True),
    "shutting_down": (ServerError, True),
    "config_invalid": (ServerError, False),
    "internal": (ServerError, True),
    # Odyssey-only usage codes (odyssey-wire.md section 3).
    "MONTHLY_LIMIT_REACHED": (MonthlyLimitReachedError, False),
    "STREAM_DURATION_EXCEEDED": (StreamDurationExceededError, False),
    "ACCOUNT_SUSPENDED": (AccountSuspendedError, False),
}

#: The codes :func:`error_from_code` knows, in catalog order.
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
