import pytest
from conftest import load_json

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

CATALOG = load_json("errors.json")["errors"]

# Codes of the hosted Odyssey API (odyssey-wire.md section 3) that Ithaca never sends.
ODYSSEY_ONLY = ["MONTHLY_LIMIT_REACHED", "STREAM_DURATION_EXCEEDED", "ACCOUNT_SUSPENDED"]

# The family of every catalog code, as sdks/js/test/errors.test.js lists it. A new code in
# spec/errors.json fails test_every_catalog_code_is_known until it is added both here and to
# the table in ithaca/errors.py.
FAMILY = {
    "invalid_request": RequestError,
    "invalid_json": RequestError,
    "invalid_metadata": RequestError,
    "missing_api_key": AuthError,
    "invalid_api_key": AuthError,
    "malformed_api_key": AuthError,
    "api_key_revoked": AuthError,
    "forbidden": AuthError,
    "not_found": RequestError,
    "method_not_allowed": RequestError,
    "session_not_found": RequestError,
    "session_ended": ConnectionError,
    "session_already_connected": ConnectionError,
    "credential_already_issued": RequestError,
    "request_too_large": RequestError,
    "unsupported_media_type": RequestError,
    "CONCURRENT_LIMIT_REACHED": ConcurrentLimitReachedError,
    "RATE_LIMITED": RateLimitError,
    "token_malformed": AuthError,
    "token_unsupported_alg": AuthError,
    "token_unknown_kid": AuthError,
    "token_bad_signature": AuthError,
    "token_expired": AuthError,
    "token_not_yet_valid": AuthError,
    "token_wrong_audience": AuthError,
    "token_wrong_role": AuthError,
    "token_wrong_session": AuthError,
    "token_revoked": AuthError,
    "no_streamer_available": ConnectionError,
    "streamer_not_available": ConnectionError,
    "streamer_disconnected": ConnectionError,
    "duration_limit_reached": ConnectionError,
    "session_timeout": StreamError,
    "invalid_command": StreamError,
    "stream_not_active": StreamError,
    "stream_already_active": StreamError,
    "invalid_image": StreamError,
    "capability_missing": StreamError,
    "origin_not_allowed": AuthError,
    "streamer_unauthorized": AuthError,
    "streamer_failed": ConnectionError,
    "spectator_token_invalid": AuthError,
    "stream_not_found": StreamError,
    "spectator_limit_reached": ConnectionError,
    "store_unavailable": ServerError,
    "shutting_down": ServerError,
    "config_invalid": ServerError,
    "internal": ServerError,
}


def test_every_catalog_code_is_known():
    catalog_codes = [e["code"] for e in CATALOG]
    assert len(catalog_codes) == len(set(catalog_codes)), "duplicate code in spec/errors.json"
    missing = [c for c in catalog_codes if c not in KNOWN_CODES]
    assert missing == [], f"spec/errors.json codes missing from ithaca/errors.py: {missing}"
    unclassified = [c for c in catalog_codes if c not in FAMILY]
    assert unclassified == [], f"codes missing from FAMILY in this test: {unclassified}"


def test_the_sdk_knows_exactly_the_catalog_plus_odyssey_codes():
    assert list(KNOWN_CODES) == [e["code"] for e in CATALOG] + ODYSSEY_ONLY


@pytest.mark.parametrize("entry", CATALOG, ids=[e["code"] for e in CATALOG])
def test_catalog_code(entry):
    code = entry["code"]
    err = error_from_code(code, entry["message"], action=entry.get("action"))
    assert type(err) is FAMILY[code]
    assert isinstance(err, IthacaError)
    assert isinstance(err, Exception)
    assert err.code == code
    assert err.message == entry["message"]
    assert str(err) == entry["message"]
    assert err.retryable is entry["retryable"], "retryable follows the catalog"
    assert err.action == entry.get("action")
    assert err.details == {}


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
