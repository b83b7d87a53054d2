"""Generates spec/vectors/http_errors.json, the shared HTTP error answer vectors (README.md here).

Standard library only, deterministic; messages and actions the server takes from the catalog are
read from spec/errors.json, so rerun it after editing one of those:

    python3 spec/vectors/make_http_errors.py > spec/vectors/http_errors.json

C++ (ithaca/net/http_server_test.cpp) writes each case that has `server` and compares status,
headers and body byte for byte; the SDKs (sdks/js/test/http_errors.test.js,
sdks/python/tests/test_http_errors.py) decode every case's `response`. None of them runs this
script. Edit it to add a case, rerun it, and commit both files.
"""

import json
import sys
from pathlib import Path

CATALOG = json.loads((Path(__file__).resolve().parents[1] / "errors.json").read_text("utf-8"))
ROWS = {e["code"]: e for e in CATALOG["errors"]}
FAMILY = {e["code"]: e["family"] for name in CATALOG if name != "about" for e in CATALOG[name]}


def compact(obj) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


CASES = []


def server(id, description, code, message="", details=None):
    """An answer Ithaca's server writes: error_response(make_error(code, message, details))."""
    row = ROWS[code]
    detail = {"code": code, "message": message or row["message"], "retryable": row["retryable"]}
    if row.get("action"):
        detail["action"] = row["action"]
    if details:
        # nlohmann::json keeps object keys sorted.
        detail["details"] = json.loads(json.dumps(details, sort_keys=True))
    headers = {}
    if details and "retry_after_seconds" in details:
        headers["Retry-After"] = str(details["retry_after_seconds"])
    CASES.append(
        {
            "id": id,
            "description": description,
            "server": {"code": code, "message": message, "details": details or {}},
            "response": {
                "status": row["http_status"],
                "headers": headers,
                "body": compact({"detail": detail}),
            },
            "expect": {
                "family": row["family"],
                "code": code,
                "message": detail["message"],
                "retryable": row["retryable"],
                "action": row.get("action"),
                "details": details or {},
                "status": row["http_status"],
            },
        }
    )


def answer(id, description, status, body, expect, headers=None):
    """An answer another server (hosted Odyssey, a proxy) may send; the SDKs decode it."""
    CASES.append(
        {
            "id": id,
            "description": description,
            "response": {"status": status, "headers": headers or {}, "body": body},
            "expect": {"details": {}, "action": None, "status": status, **expect},
        }
    )


def known(code, message, retryable=None, **extra):
    """The expectation for a catalog code: its family, and its retryable unless overridden."""
    entry = next(
        e for name in CATALOG if name != "about" for e in CATALOG[name] if e["code"] == code
    )
    return {
        "family": FAMILY[code],
        "code": code,
        "message": message,
        "retryable": entry["retryable"] if retryable is None else retryable,
        **extra,
    }


# --- what Ithaca's server writes ----------------------------------------------------------------

server(
    "rate-limited",
    "RATE_LIMITED: details.retry_after_seconds, the same in Retry-After, and the catalog's action",
    "RATE_LIMITED",
    "Too many requests for this key; retry in 3 s.",
    {"retry_after_seconds": 3},
)
server(
    "concurrent-limit",
    "CONCURRENT_LIMIT_REACHED with its details (keys sorted) and the catalog's message",
    "CONCURRENT_LIMIT_REACHED",
    details={"limit": 3, "active_count": 3},
)
server("invalid-api-key", "401: an AuthError, not retryable, no action", "invalid_api_key")
server("malformed-api-key", "422: an AuthError all the same", "malformed_api_key")
server(
    "no-streamer",
    "503 no_streamer_available: a retryable ConnectionError with an action",
    "no_streamer_available",
)
server("session-ended", "409 session_ended: mint new credentials", "session_ended")
server(
    "invalid-metadata", "400 with the handler's own message", "invalid_metadata", "too many keys"
)
server("store-unavailable", "503 store_unavailable: a retryable ServerError", "store_unavailable")
server("internal", "500 internal: a retryable ServerError", "internal")

# --- what other servers send ---------------------------------------------------------------------

answer(
    "retry-after-header-only",
    "RATE_LIMITED without details: Retry-After fills details.retry_after_seconds",
    429,
    compact({"detail": {"code": "RATE_LIMITED", "message": "slow down", "retryable": True}}),
    known("RATE_LIMITED", "slow down", details={"retry_after_seconds": 7}),
    headers={"Retry-After": "7"},
)
answer(
    "retryable-overrides-catalog",
    "a boolean retryable in the answer wins over the catalog's",
    500,
    compact({"detail": {"code": "internal", "message": "boom", "retryable": False}}),
    known("internal", "boom", retryable=False),
)
answer(
    "retryable-not-boolean",
    "a retryable that is not a boolean is ignored: the catalog's",
    503,
    compact({"detail": {"code": "no_streamer_available", "message": "busy", "retryable": "no"}}),
    known("no_streamer_available", "busy"),
)
answer(
    "odyssey-error-spelling",
    "the hosted API's spelling detail.error, and one of its own usage codes",
    429,
    compact({"detail": {"error": "MONTHLY_LIMIT_REACHED", "message": "quota spent"}}),
    known("MONTHLY_LIMIT_REACHED", "quota spent"),
)
answer(
    "empty-message",
    "an empty message becomes the code",
    400,
    compact({"detail": {"code": "invalid_json", "message": ""}}),
    known("invalid_json", "invalid_json"),
)
answer(
    "action-and-details-passed-on",
    "the answer's action and details are kept as they are",
    409,
    compact(
        {
            "detail": {
                "code": "stream_already_active",
                "message": "end it first",
                "action": "End the stream.",
                "details": {"stream_id": "stm_1"},
            }
        }
    ),
    known(
        "stream_already_active",
        "end it first",
        action="End the stream.",
        details={"stream_id": "stm_1"},
    ),
)
answer(
    "unknown-code",
    "a code the catalog lacks: a plain IthacaError with the answer's retryable",
    418,
    compact({"detail": {"code": "SOMETHING_NEW", "message": "new", "retryable": True}}),
    {"family": "IthacaError", "code": "SOMETHING_NEW", "message": "new", "retryable": True},
)
for status, family, retryable in (
    (401, "AuthError", False),
    (403, "AuthError", False),
    (404, "IthacaError", False),
    (429, "UsageError", True),
    (500, "ConnectionError", False),
    (502, "ConnectionError", True),
    (503, "ConnectionError", True),
):
    answer(
        f"not-ithaca-shape-{status}",
        f"HTTP {status} whose body is not Ithaca's error shape (a proxy's): classed by status",
        status,
        "<html><body>Bad Gateway</body></html>" if status == 502 else compact({"error": "nope"}),
        {
            "family": family,
            "code": f"http_{status}",
            "message": f"HTTP {status} from the API",
            "retryable": retryable,
        },
    )
answer(
    "not-json-empty",
    "an empty body: classed by status",
    500,
    "",
    {
        "family": "ConnectionError",
        "code": "http_500",
        "message": "HTTP 500 from the API",
        "retryable": False,
    },
)

doc = {
    "about": "HTTP error answers of Ithaca's API and how every SDK decodes them: C++ writes each "
    "case with `server` byte for byte; the SDKs decode every `response` into expect (family is "
    "the error class). Format: spec/vectors/README.md. Generated by "
    "spec/vectors/make_http_errors.py from spec/errors.json; do not edit by hand.",
    "cases": CASES,
}
ids = [case["id"] for case in CASES]
assert len(ids) == len(set(ids)), "case ids must be unique"
json.dump(doc, sys.stdout, indent=2, ensure_ascii=False)
sys.stdout.write("\n")
