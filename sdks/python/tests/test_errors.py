import re
from pathlib import Path

import pytest
from conftest import SPEC, load_json

import ithaca
from ithaca import (
    KNOWN_CODES,
    AccountSuspendedError,
    AuthError,
    ConcurrentLimitReachedError,
    ConnectionError,
    CredentialsError,
    IthacaError,
    MonthlyLimitReachedError,
    RateLimitError,
    RequestError,
    ServerError,
    StreamDurationExceededError,
    StreamError,
    UsageError,
    error_from_code,
)
from ithaca.errors import CATALOG

SPEC_CATALOG = load_json("errors.json")
# The server's codes, the hosted Odyssey API's, the SDK's own (spec/errors.json's about).
LISTS = ("errors", "odyssey_errors", "sdk_errors")
ENTRIES = [dict(e, list=name) for name in LISTS for e in SPEC_CATALOG[name]]
PACKAGE = Path(ithaca.__file__).resolve().parent


def test_the_packaged_catalog_is_not_stale():
    # ithaca/errors.json ships in the wheel; scripts/gen_error_catalog.py copies it from spec/.
    packaged = (PACKAGE / "errors.json").read_bytes()
    assert packaged == (SPEC / "errors.json").read_bytes(), "run scripts/gen_error_catalog.py"
    assert [e["code"] for e in CATALOG] == [e["code"] for e in ENTRIES]


def test_the_sdk_knows_exactly_the_catalog_in_its_order():
    codes = [e["code"] for e in ENTRIES]
    assert len(codes) == len(set(codes)), "duplicate code in spec/errors.json"
    assert list(KNOWN_CODES) == codes


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["code"] for e in ENTRIES])
def test_catalog_code(entry):
    code = entry["code"]
    family = getattr(ithaca, entry["family"], None)
    assert isinstance(family, type) and issubclass(family, IthacaError), entry["family"]
    err = error_from_code(code, entry["message"], action=entry.get("action"))
    assert type(err) is family
    assert type(err).__name__ == entry["family"]
    assert isinstance(err, Exception)
    assert err.code == code
    assert err.message == entry["message"]
    assert str(err) == entry["message"]
    assert err.retryable is entry["retryable"], "retryable follows the catalog"
    assert err.action == entry.get("action")
    assert err.details == {}
    # Invariants of the catalog the classification must respect.
    status = entry.get("http_status")
    assert (entry["list"] == "errors") == isinstance(status, int), "http_status: server only"
    if status in (401, 403):
        assert isinstance(err, AuthError)
    if status == 429:
        assert isinstance(err, UsageError)
    if isinstance(err, UsageError) and entry["list"] == "errors":
        assert status == 429


# A code raised in ithaca/ must be in the catalog: the literals of code="...",
# _connection_error("..."), error_from_code("...") and on_stream_error reasons.
_RAISED = [
    re.compile(r'\bcode="([A-Za-z_0-9]+)"'),
    re.compile(r'\b_connection_error\(\s*"([A-Za-z_0-9]+)"'),
    re.compile(r'\berror_from_code\(\s*"([A-Za-z_0-9]+)"'),
    re.compile(r'"on_stream_error"\),\s*"([A-Za-z_0-9]+)"'),
]


def test_every_code_the_sources_raise_is_in_the_catalog():
    found = set()
    for path in sorted(PACKAGE.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        for pattern in _RAISED:
            found.update(pattern.findall(text))
    for code in ("network_error", "connect_timeout", "wrong_type", "broadcast_error"):
        assert code in found, f"the scan finds {code}: the patterns still match the sources"
    known = {e["code"] for e in ENTRIES}
    assert sorted(found - known) == [], "codes raised in ithaca/ but missing from spec/errors.json"


def test_sdk_codes():
    err = error_from_code("missing_field", "m")
    assert type(err) is CredentialsError
    assert err.field == ""
    assert isinstance(err, ValueError)
    assert type(error_from_code("network_error")) is ConnectionError
    assert error_from_code("network_error").retryable is True


def test_odyssey_only_usage_codes():
    expected = {
        "MONTHLY_LIMIT_REACHED": MonthlyLimitReachedError,
        "STREAM_DURATION_EXCEEDED": StreamDurationExceededError,
        "ACCOUNT_SUSPENDED": AccountSuspendedError,
    }
    for code, cls in expected.items():
        err = error_from_code(code, "m")
        assert type(err) is cls
        assert isinstance(err, UsageError)
        assert err.retryable is False


def test_hierarchy():
    for cls in (AuthError, ConnectionError, StreamError, UsageError, RequestError, ServerError):
        assert issubclass(cls, IthacaError)
    for cls in (
        ConcurrentLimitReachedError,
        MonthlyLimitReachedError,
        StreamDurationExceededError,
        AccountSuspendedError,
        RateLimitError,
    ):
        assert issubclass(cls, UsageError)
    assert issubclass(CredentialsError, ValueError)
    assert issubclass(CredentialsError, IthacaError)
    # Not the built-in: catching OSError must not swallow Ithaca's errors.
    assert not issubclass(ConnectionError, OSError)


def test_extras_and_retryable_override():
    err = error_from_code(
        "CONCURRENT_LIMIT_REACHED",
        "Too many",
        details={"active_count": 2, "limit": 2},
        status=429,
        action="End a session.",
    )
    assert type(err) is ConcurrentLimitReachedError
    assert err.details == {"active_count": 2, "limit": 2}
    assert err.status == 429
    assert err.action == "End a session."
    assert err.retryable is True
    assert error_from_code("CONCURRENT_LIMIT_REACHED", "x", retryable=False).retryable is False
    assert error_from_code("internal", "x", retryable=False).retryable is False
    assert error_from_code("invalid_request", "x", retryable=True).retryable is True
    # A non-bool retryable is ignored, as in JS.
    assert error_from_code("internal", "x", retryable="no").retryable is True  # type: ignore[arg-type]


def test_defaults():
    err = error_from_code("invalid_json")
    assert err.message == "invalid_json"
    assert error_from_code("invalid_json", "").message == "invalid_json"
    assert err.action is None
    assert err.details == {}
    assert err.status is None
    # Junk extras are normalised, not kept.
    junk = error_from_code("internal", "m", action=3, details=[1], status="500")  # type: ignore[arg-type]
    assert (junk.action, junk.details, junk.status) == (None, {}, None)
    base = IthacaError("plain")
    assert (base.code, base.retryable, base.message) == ("error", False, "plain")


def test_unknown_code_gives_plain_ithaca_error():
    err = error_from_code("SOMETHING_NEW", "m", retryable=True)
    assert type(err) is IthacaError
    assert err.code == "SOMETHING_NEW"
    assert err.retryable is True
    assert error_from_code("SOMETHING_NEW").retryable is False


def test_details_are_copied():
    details = {"limit": 1}
    err = error_from_code("CONCURRENT_LIMIT_REACHED", "m", details=details)
    details["limit"] = 9
    assert err.details == {"limit": 1}


def test_rate_limit_retry_after_seconds():
    assert error_from_code("RATE_LIMITED", "m").retry_after_seconds is None
    err = error_from_code("RATE_LIMITED", "m", details={"retry_after_seconds": 7})
    assert err.retry_after_seconds == 7
    assert (
        error_from_code(
            "RATE_LIMITED", "m", details={"retry_after_seconds": 1.5}
        ).retry_after_seconds
        == 1.5
    )
    for bad in ("7", True, float("inf"), None):
        e = error_from_code("RATE_LIMITED", "m", details={"retry_after_seconds": bad})
        assert e.retry_after_seconds is None


def test_errors_can_be_raised_and_caught_by_family():
    with pytest.raises(UsageError):
        raise error_from_code("RATE_LIMITED", "slow down")
    with pytest.raises(IthacaError, match="slow down"):
        raise error_from_code("RATE_LIMITED", "slow down")
