"""Client credentials (docs/odyssey-compatibility.md section 2), read and written exactly as
spec/vectors/credentials.json says. Mirrors sdks/js/src/credentials.js, except that Python
readers take snake_case keys only (the vectors' JS-only camelCase case is not read here).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .capabilities import StreamerCapabilities
from .errors import CredentialsError

__all__ = ["ClientCredentials", "extract_session_id", "redact_token"]

_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


def redact_token(token: str) -> str:
    """The first 6 characters and the length, as the C++ ``redact_token`` logs a token."""
    return f"{token[:6]}...({len(token)})"


def extract_session_id(token: object) -> str:
    """The ``session_id`` claim of a session token.

    The signature is not checked (the signaling server does that); only the shape: three
    dot-separated parts, the middle one base64url JSON object with a non-empty string
    ``session_id``. Raises :class:`~ithaca.errors.CredentialsError` (a ``ValueError``) with
    ``code="invalid_token"``, ``field="session_token"`` otherwise.
    """
    if not isinstance(token, str):
        raise _invalid_token("session_token must be a string")
    parts = token.split(".")
    if len(parts) != 3:
        raise _invalid_token(f"session_token must have 3 dot-separated parts, not {len(parts)}")
    try:
        payload = json.loads(_decode_base64url(parts[1]), parse_constant=_reject_constant)
    except (ValueError, binascii.Error) as cause:
        raise _invalid_token("session_token payload is not base64url JSON") from cause
    if not isinstance(payload, dict):
        raise _invalid_token("session_token payload is not a JSON object")
    sid = payload.get("session_id")
    if not isinstance(sid, str) or sid == "":
        raise _invalid_token("session_token payload has no non-empty string session_id")
    return sid


@dataclass(frozen=True)
class ClientCredentials:
    """What a client needs to connect to one session; safe to hand to a browser or a player.

    Constructed like the official SDK's: ``ClientCredentials(signaling_url, session_token,
    expires_in, capabilities=None)``; ``session_id`` is always the token's claim (a keyword
    ``session_id`` that differs from it is refused). ``capabilities`` is always a
    :class:`~ithaca.capabilities.StreamerCapabilities`, empty when none were given.
    ``repr`` never shows the whole ``session_token``.
    """

    signaling_url: str
    session_token: str = field(repr=False)
    expires_in: int
    capabilities: StreamerCapabilities = field(
        default_factory=lambda: StreamerCapabilities.from_dict({})
    )
    session_id: str = field(default="", kw_only=True)

    def __post_init__(self) -> None:
        if not isinstance(self.signaling_url, str):
            raise _wrong_type("signaling_url", "a string")
        claimed = extract_session_id(self.session_token)
        if self.session_id not in ("", claimed):
            raise _invalid_token("session_id differs from the session_token's session_id claim")
        object.__setattr__(self, "session_id", claimed)
        # A read-only copy: the caller's dict cannot change these credentials afterwards.
        caps = self.capabilities
        object.__setattr__(
            self,
            "capabilities",
            StreamerCapabilities.from_dict(caps if isinstance(caps, Mapping) else {}),
        )

    def __repr__(self) -> str:
        return (
            f"ClientCredentials(session_id={self.session_id!r}, "
            f"signaling_url={self.signaling_url!r}, "
            f"session_token={redact_token(self.session_token)!r}, "
            f"expires_in={self.expires_in!r}, capabilities={dict(self.capabilities)!r})"
        )

    __str__ = __repr__

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClientCredentials:
        """Credentials from a dict as the server returns it (snake_case keys).

        ``session_id`` is always re-derived from the token; the dict's value is ignored. Unknown
        keys are ignored. A missing (or None) field raises ``code="missing_field"``, a field of
        the wrong type ``code="wrong_type"``, a bad token ``code="invalid_token"``: all
        :class:`~ithaca.errors.CredentialsError`, a ``ValueError`` whose ``field`` names the field.
        """
        if not isinstance(data, Mapping):
            raise CredentialsError(
                "credentials must be a mapping", code="wrong_type", field="credentials"
            )
        signaling_url = _field(data, "signaling_url")
        session_token = _field(data, "session_token")
        expires_in = _field(data, "expires_in")
        if not isinstance(signaling_url, str):
            raise _wrong_type("signaling_url", "a string")
        if not isinstance(session_token, str):
            raise _wrong_type("session_token", "a string")
        expires_in = _integer(expires_in)
        if expires_in is None:
            raise _wrong_type("expires_in", "an integer")
        capabilities = data.get("capabilities")
        if capabilities is None:
            capabilities = {}
        if not isinstance(capabilities, Mapping):
            raise _wrong_type("capabilities", "an object")
        return cls(
            signaling_url=signaling_url,
            session_token=session_token,
            expires_in=expires_in,
            capabilities=capabilities,
        )

    def to_dict(self) -> dict[str, Any]:
        """The dict the wire carries: keys session_id, signaling_url, session_token, expires_in,
        capabilities, in that order (a fresh dict each call)."""
        return {
            "session_id": self.session_id,
            "signaling_url": self.signaling_url,
            "session_token": self.session_token,
            "expires_in": self.expires_in,
            "capabilities": self.capabilities.to_dict(),
        }

    def to_json(self) -> str:
        """Compact JSON of :meth:`to_dict`, byte-identical in every SDK."""
        return json.dumps(self.to_dict(), separators=(",", ":"))


def _field(data: Mapping[str, Any], name: str) -> Any:
    v = data.get(name)
    if v is None:
        raise CredentialsError(f"credentials lack {name}", code="missing_field", field=name)
    return v


def _integer(v: Any) -> int | None:
    # JSON numbers as JS's Number.isInteger sees them: 600 and 600.0 are integers, True is not.
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return None


def _wrong_type(name: str, what: str) -> CredentialsError:
    return CredentialsError(f"credentials {name} must be {what}", code="wrong_type", field=name)


def _invalid_token(message: str) -> CredentialsError:
    return CredentialsError(message, code="invalid_token", field="session_token")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _decode_base64url(s: str) -> str:
    if not _BASE64URL.fullmatch(s) or len(s) % 4 == 1:
        raise ValueError("not base64url")
    raw = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    return raw.decode("utf-8")  # strict: invalid UTF-8 raises UnicodeDecodeError (a ValueError)
