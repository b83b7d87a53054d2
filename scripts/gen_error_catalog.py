#!/usr/bin/env python3
"""Writes the SDKs' copies of the error catalog from spec/errors.json (standard library only):

  sdks/js/src/errors-catalog.js   an ES module: code -> [family, retryable], catalog order
  sdks/python/ithaca/errors.json  spec/errors.json byte for byte (package data of the wheel)

Checks the catalog first (unique codes, known families, the fields each list needs).

  python3 scripts/gen_error_catalog.py           # rewrite both copies (or: make error-catalog)
  python3 scripts/gen_error_catalog.py --check   # exit 1, writing nothing, when one is stale

The SDKs' tests also fail while a copy is stale (sdks/js/test/errors.test.js,
sdks/python/tests/test_errors.py); C++ reads spec/errors.json itself (cmake/ErrorCatalog.cmake).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "spec" / "errors.json"
JS_OUT = ROOT / "sdks" / "js" / "src" / "errors-catalog.js"
PY_OUT = ROOT / "sdks" / "python" / "ithaca" / "errors.json"

# The error classes of both SDKs (sdks/js/src/errors.js, sdks/python/ithaca/errors.py).
FAMILIES = {
    "IthacaError",
    "AuthError",
    "ConnectionError",
    "StreamError",
    "RequestError",
    "ServerError",
    "UsageError",
    "ConcurrentLimitReachedError",
    "MonthlyLimitReachedError",
    "StreamDurationExceededError",
    "AccountSuspendedError",
    "RateLimitError",
    "CredentialsError",
}
# The lists of the catalog, in the order the SDKs' tables follow.
LISTS = ("errors", "odyssey_errors", "sdk_errors")


def check(catalog: dict) -> list[dict]:
    """Every entry of the three lists, in order; raises ValueError on a malformed catalog."""
    entries: list[dict] = []
    seen: set[str] = set()
    for name in LISTS:
        for e in catalog[name]:
            code = e.get("code")
            where = f"{name}: {code!r}"
            if not isinstance(code, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", code):
                raise ValueError(f"{where}: a code is an identifier")
            if code in seen:
                raise ValueError(f"{where}: duplicate code")
            seen.add(code)
            if e.get("family") not in FAMILIES:
                raise ValueError(f"{where}: family {e.get('family')!r} is not an SDK class")
            if not isinstance(e.get("retryable"), bool) or not isinstance(e.get("message"), str):
                raise ValueError(f"{where}: needs a boolean retryable and a string message")
            on_wire = name == "errors"
            for field in ("http_status", "ws_close_code"):
                if on_wire != isinstance(e.get(field), int):
                    raise ValueError(f"{where}: {field} belongs to (and only to) the server's list")
            entries.append(e)
    return entries


def render_js(entries: list[dict]) -> str:
    lines = [
        "// Generated from spec/errors.json by scripts/gen_error_catalog.py: do not edit. Edit the",
        "// catalog and run `make error-catalog`; test/errors.test.js fails while this is stale.",
        "",
        "/** code -> [family (an error class of errors.js), retryable], in the catalog's order. */",
        "export const CATALOG = {",
    ]
    for e in entries:
        retryable = "true" if e["retryable"] else "false"
        lines.append(f"  {e['code']}: [{json.dumps(e['family'])}, {retryable}],")
    lines.append("};")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    text = CATALOG.read_text(encoding="utf-8")
    try:
        entries = check(json.loads(text))
    except (ValueError, KeyError) as e:
        print(f"spec/errors.json: {e}", file=sys.stderr)
        return 2
    wanted = {JS_OUT: render_js(entries), PY_OUT: text}
    stale = [p for p, t in wanted.items() if not p.exists() or p.read_text("utf-8") != t]
    if "--check" in argv:
        for p in stale:
            print(
                f"{p.relative_to(ROOT)} is stale: run scripts/gen_error_catalog.py", file=sys.stderr
            )
        return 1 if stale else 0
    for p in stale:
        p.write_text(wanted[p], encoding="utf-8")
        print(f"wrote {p.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
