"""Generates spec/vectors/tokens.json, the shared HS256 token vectors (see README.md here).

Standard library only, deterministic (fixed secrets, times and ids), so rerunning it rewrites the
same file byte for byte:

    python3 spec/vectors/make_tokens.py > spec/vectors/tokens.json

C++ (ithaca/auth/token_test.cpp) verifies every case; the SDKs never verify a token, so they read
only each case's unverified_session_id through their extract_session_id / extractSessionId
(sdks/js/test/credentials.test.js, sdks/python/tests/test_credentials.py). None of them runs this
script. Edit it to add a case, rerun it, and commit both files.
"""

import base64
import hashlib
import hmac
import json
import re
import sys

NOW = 1767225600  # 2026-01-01T00:00:00Z
IAT = NOW - 60
EXP = IAT + 900
AUD = "ithaca"
LEEWAY = 5


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def compact(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def secret_for(kid: str, length: int) -> bytes:
    out = b""
    while len(out) < length:
        out += hashlib.sha256(f"ithaca token vector key {kid} {len(out)}".encode()).digest()
    return out[:length]


# keys[0] signs; the others verify only. The verify-only secret is longer than SHA-256's block
# (64 bytes), so HMAC hashes it first: a path worth covering.
SIGNING = ("ith-2026-01", secret_for("ith-2026-01", 32))
OLD = ("ith-2025-12", secret_for("ith-2025-12", 72))
UNLISTED = ("ith-2024-01", secret_for("ith-2024-01", 32))  # in no ring
KEYS = [SIGNING, OLD]


def header(kid=SIGNING[0], alg="HS256") -> bytes:
    return compact({"alg": alg, "kid": kid, "typ": "JWT"})


def claims(**over):
    c = {
        "session_id": "ses_k3vq7x2mfa4ze5rbnh6t",
        "account": "acc_demo",
        "role": "player",
        "aud": AUD,
        "iat": IAT,
        "exp": EXP,
        "jti": "tok_0001",
        "sub": "",
    }
    c.update(over)
    return c


def payload(c) -> bytes:
    """The payload sign() writes: fixed key order, compact, empty session_id and sub omitted."""
    order = ["session_id", "account", "role", "aud", "iat", "exp", "jti", "sub"]
    return compact({k: c[k] for k in order if not (k in ("session_id", "sub") and c[k] == "")})


def token(hdr: bytes, body: bytes, secret=SIGNING[1], digest=hashlib.sha256) -> str:
    signing_input = b64(hdr) + "." + b64(body)
    mac = hmac.new(secret, signing_input.encode("ascii"), digest).digest()
    return signing_input + "." + b64(mac)


def rules(role="player", audience=AUD, leeway=LEEWAY):
    return {"audience": audience, "role": role, "leeway_seconds": leeway}


CASES = []


def ok(id, description, tok, c, now=NOW, rule=None, sign=False):
    case = {"id": id, "description": description, "token": tok, "now": now,
            "rules": rule or rules(c["role"]), "expect": {"ok": True, "claims": c}}
    if sign:
        case["sign"] = True
    CASES.append(case)


def fail(id, description, tok, error, now=NOW, rule=None):
    CASES.append({"id": id, "description": description, "token": tok, "now": now,
                  "rules": rule or rules(), "expect": {"ok": False, "error": error}})


def good(c, **kw):
    return token(header(), payload(c), **kw)


def respell(segment: str) -> str:
    """The same bytes, with an unused low bit of the last character set (strict decoders fail)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    assert len(segment) % 4 in (2, 3), "segment has no unused bits"
    return segment[:-1] + alphabet[alphabet.index(segment[-1]) | 1]


def padded_token(lengths) -> str:
    """A validly signed player token whose length is the first reachable one of `lengths` (an
    extra claim pads it; a base64url text is never 1 more than a multiple of 4 long)."""
    for want in lengths:
        for pad in range(want):
            body = json.loads(payload(claims()))
            body["pad"] = "p" * pad
            t = token(header(), compact(body))
            if len(t) == want:
                return t
            if len(t) > want:
                break
    raise SystemExit(f"no token of a length in {lengths}")


# --- valid -------------------------------------------------------------------------------------

c = claims()
ok("valid-player", "a player token as sign() writes it", good(c), c, sign=True)
c = claims(role="spectator", jti="tok_0002")
ok("valid-spectator", "a spectator token as sign() writes it", good(c), c, sign=True)
c = claims(role="api", session_id="", sub="key_abcdefgh23456789", jti="tok_0003")
ok("valid-api-with-sub", "an api access token: no session_id, sub is the API key id", good(c), c,
   sign=True)
c = claims(role="api", sub="key_abcdefgh23456789", jti="tok_0004")
ok("valid-api-with-session-id", "an api token may carry a session_id", good(c), c, sign=True)
c = claims(account='caf\u00e9 "quoted" \\ \u2615\n\u0001', jti="tok_0005")
ok("valid-escaped-and-unicode", "strings with quotes, backslash, UTF-8 and control characters "
   "(escaped as \\n and \\u0001, UTF-8 written as is)", good(c), c, sign=True)
c = claims()
ok("valid-exp-at-leeway-edge", "now is exactly exp + leeway: still valid", good(c), c,
   now=EXP + LEEWAY)
c = claims(iat=NOW + LEEWAY, exp=NOW + LEEWAY + 900)
ok("valid-iat-at-leeway-edge", "iat is exactly now + leeway: still valid", good(c), c)
c = claims(jti="tok_0006")
ok("valid-rotated-verify-only-key", "signed by the older key, which the ring lists as verify-only",
   token(header(OLD[0]), payload(c), secret=OLD[1]), c)
c = claims(jti="tok_0007")
ok("valid-noncanonical-header", "header keys in another order with whitespace: any JSON object "
   "with alg HS256 and a known kid is accepted",
   token(b'{ "typ": "JWT", "kid": "ith-2026-01", "alg": "HS256" }', payload(c)), c)
c = claims(jti="tok_0008")
ok("valid-header-without-typ", "typ is optional",
   token(compact({"alg": "HS256", "kid": SIGNING[0]}), payload(c)), c)
c = claims(jti="tok_0009")
body = {"exp": EXP, "iat": IAT, "role": "player", "nbf": 0, "extra": {"nested": [1, 2.5, None]},
        "jti": "tok_0009", "aud": AUD, "account": "acc_demo", "session_id": c["session_id"]}
ok("valid-other-order-and-extra-claims", "claims in another order, unknown claims ignored",
   token(header(), json.dumps(body, indent=1).encode()), c)
c = claims(jti="tok_0010")
ok("valid-escaped-claim-text", "\\u escapes in strings decode like any JSON",
   token(header(), payload(c).replace(b'"acc_demo"', b'"\\u0061cc_demo"')), c)
c = claims()
ok("valid-max-length", "a token of exactly 8192 characters is accepted (an extra claim pads it)",
   padded_token([8192]), c)

# --- token_malformed ---------------------------------------------------------------------------

t = good(claims())
h, p, s = t.split(".")
fail("malformed-empty", "the empty string", "", "token_malformed")
fail("malformed-two-segments", "no signature segment", h + "." + p, "token_malformed")
fail("malformed-four-segments", "an extra segment", t + ".e30", "token_malformed")
fail("malformed-too-long", "over 8192 characters, validly signed: rejected before decoding",
     padded_token([8193, 8194]), "token_malformed")
fail("malformed-header-padding", "base64 padding is not base64url as JWT uses it",
     b64(header()) + "==." + p + "." + s, "token_malformed")
fail("malformed-payload-standard-alphabet", "a '+' in the payload segment",
     h + "." + p[:-1] + "+." + s, "token_malformed")
t2 = next(good(claims(jti=j)) for j in ("tok_1", "tok_12", "tok_123")
          if len(b64(payload(claims(jti=j)))) % 4 in (2, 3))
fail("malformed-payload-nonzero-trailing-bits", "a second spelling of the same bytes is refused",
     ".".join(f(x) for f, x in zip((str, respell, str), t2.split("."))), "token_malformed")
fail("malformed-signature-not-base64url", "a '/' in the signature",
     h + "." + p + "." + s[:-1] + "/", "token_malformed")
fail("malformed-header-not-json", "the header is not JSON",
     token(b"alg=HS256", payload(claims())), "token_malformed")
fail("malformed-header-array", "the header is a JSON array",
     token(b'["HS256"]', payload(claims())), "token_malformed")
fail("malformed-header-crit", "critical header extensions are not understood (RFC 7515 4.1.11)",
     token(compact({"alg": "HS256", "kid": SIGNING[0], "typ": "JWT", "crit": ["exp"]}),
           payload(claims())), "token_malformed")
fail("malformed-payload-not-json", "validly signed, but the payload is not JSON",
     token(header(), b"account=acc_demo"), "token_malformed")
fail("malformed-payload-array", "validly signed, but the payload is a JSON array",
     token(header(), b"[]"), "token_malformed")
body = json.loads(payload(claims()))
del body["exp"]
fail("malformed-missing-exp", "exp is required", token(header(), compact(body)), "token_malformed")
body = json.loads(payload(claims()))
del body["jti"]
fail("malformed-missing-jti", "jti is required", token(header(), compact(body)), "token_malformed")
body = json.loads(payload(claims()))
del body["aud"]
fail("malformed-missing-aud", "aud is required", token(header(), compact(body)), "token_malformed")
body = json.loads(payload(claims()))
body["iat"] = str(IAT)
fail("malformed-iat-string", "iat must be a number", token(header(), compact(body)),
     "token_malformed")
body = json.loads(payload(claims()))
body["iat"] = True
fail("malformed-iat-boolean", "iat must be a number, not a boolean (beware: Python bool is int)",
     token(header(), compact(body)), "token_malformed")
body = json.loads(payload(claims()))
body["nbf"] = str(NOW)
fail("malformed-nbf-string", "nbf, when present, must be an integer", token(header(), compact(body)),
     "token_malformed")
body = json.loads(payload(claims()))
body["exp"] = EXP + 0.5
fail("malformed-exp-fraction", "exp must be an integer", token(header(), compact(body)),
     "token_malformed")
body = json.loads(payload(claims()))
body["exp"] = 2**53
fail("malformed-exp-beyond-2^53", "exp must be within +-(2^53 - 1), exact in every language",
     token(header(), compact(body)), "token_malformed")
body = json.loads(payload(claims()))
body["aud"] = [AUD]
fail("malformed-aud-array", "aud must be a single string", token(header(), compact(body)),
     "token_malformed")
body = json.loads(payload(claims()))
body["sub"] = 7
fail("malformed-sub-number", "sub, when present, must be a string",
     token(header(), compact(body)), "token_malformed")
fail("malformed-unknown-role", "an unknown role is malformed, not merely the wrong role",
     good(claims(role="admin")), "token_malformed", rule=rules("player"))
fail("malformed-player-without-session-id", "player tokens need a session_id",
     good(claims(session_id="")), "token_malformed")
body = json.loads(payload(claims(role="spectator")))
body["session_id"] = ""
fail("malformed-spectator-empty-session-id", "spectator tokens need a non-empty session_id",
     token(header(), compact(body)), "token_malformed", rule=rules("spectator"))

# --- token_unsupported_alg ---------------------------------------------------------------------

p = b64(payload(claims()))
fail("unsupported-alg-none", "alg none with an empty signature",
     b64(header(alg="none")) + "." + p + ".", "token_unsupported_alg")
fail("unsupported-alg-none-no-kid", "alg none, no kid, empty signature",
     b64(compact({"alg": "none", "typ": "JWT"})) + "." + p + ".", "token_unsupported_alg")
fail("unsupported-alg-lowercase", "alg names are case-sensitive",
     token(header(alg="hs256"), payload(claims())), "token_unsupported_alg")
fail("unsupported-alg-hs512", "HS512, correctly computed with the same key",
     token(header(alg="HS512"), payload(claims()), digest=hashlib.sha512),
     "token_unsupported_alg")
fail("unsupported-alg-rs256", "RS256 (an HMAC over the text as in the key-confusion attack)",
     token(header(alg="RS256"), payload(claims())), "token_unsupported_alg")
fail("unsupported-alg-missing", "no alg at all",
     token(compact({"kid": SIGNING[0], "typ": "JWT"}), payload(claims())),
     "token_unsupported_alg")
fail("unsupported-alg-not-string", "alg must be a string",
     token(compact({"alg": ["HS256"], "kid": SIGNING[0]}), payload(claims())),
     "token_unsupported_alg")

# --- token_unknown_kid -------------------------------------------------------------------------

fail("unknown-kid", "signed by a retired key the ring no longer lists",
     token(header(UNLISTED[0]), payload(claims()), secret=UNLISTED[1]), "token_unknown_kid")
fail("unknown-kid-case", "kids are case-sensitive",
     token(header(SIGNING[0].upper()), payload(claims())), "token_unknown_kid")
fail("unknown-kid-missing", "no kid: the ring does not guess",
     token(compact({"alg": "HS256", "typ": "JWT"}), payload(claims())), "token_unknown_kid")
fail("unknown-kid-not-string", "kid must be a string",
     token(compact({"alg": "HS256", "kid": 1, "typ": "JWT"}), payload(claims())),
     "token_unknown_kid")

# --- token_bad_signature -----------------------------------------------------------------------

t = good(claims(role="spectator"))
h, p, s = t.split(".")
p2 = b64(payload(claims(role="player")))
fail("bad-signature-tampered-payload", "role changed from spectator to player after signing",
     h + "." + p2 + "." + s, "token_bad_signature")
fail("bad-signature-wrong-key", "kid names the signing key, but another secret signed it",
     token(header(), payload(claims()), secret=OLD[1]), "token_bad_signature")
fail("bad-signature-truncated", "the signature decodes to 31 bytes",
     h + "." + p + "." + b64(base64.urlsafe_b64decode(s + "=")[:31]), "token_bad_signature",
     rule=rules("spectator"))
fail("bad-signature-empty", "alg HS256 with an empty signature", h + "." + p + ".",
     "token_bad_signature", rule=rules("spectator"))
fail("bad-signature-before-payload", "the signature is checked before the payload is parsed: "
     "garbage payload, bad signature", h + "." + b64(b"not json") + "." + s,
     "token_bad_signature")

# --- time, audience, role ----------------------------------------------------------------------

t = good(claims())
fail("expired", "now is exp + leeway + 1", t, "token_expired", now=EXP + LEEWAY + 1)
fail("expired-no-leeway", "leeway 0: one second past exp", t, "token_expired", now=EXP + 1,
     rule=rules(leeway=0))
fail("not-yet-valid", "iat is now + leeway + 1",
     good(claims(iat=NOW + LEEWAY + 1, exp=NOW + 900)), "token_not_yet_valid")
body = json.loads(payload(claims()))
body["nbf"] = NOW + LEEWAY + 1
fail("not-yet-valid-nbf", "nbf is now + leeway + 1 (iat is in the past)",
     token(header(), compact(body)), "token_not_yet_valid")
c = claims(jti="tok_0011")
body = json.loads(payload(c))
body["nbf"] = NOW + LEEWAY
ok("valid-nbf-at-leeway-edge", "nbf is exactly now + leeway: still valid",
   token(header(), compact(body)), c)
fail("wrong-audience", "a token for another deployment", t, "token_wrong_audience",
     rule=rules(audience="ithaca-staging"))
fail("wrong-role-spectator-as-player", "a spectator token where a player token is needed",
     good(claims(role="spectator")), "token_wrong_role", rule=rules("player"))
fail("wrong-role-player-as-api", "a player token where an api token is needed", t,
     "token_wrong_role", rule=rules("api"))

# --- order between failures --------------------------------------------------------------------

fail("order-alg-before-kid", "alg none and an unknown kid: the alg is reported",
     b64(header("nobody", alg="none")) + "." + b64(payload(claims())) + ".",
     "token_unsupported_alg")
fail("order-kid-before-signature", "unknown kid and a garbage signature: the kid is reported",
     b64(header(UNLISTED[0])) + "." + b64(payload(claims())) + ".AAAA", "token_unknown_kid")
fail("order-expired-before-audience", "expired and for another audience: expiry is reported", t,
     "token_expired", now=EXP + LEEWAY + 1, rule=rules(audience="ithaca-staging"))
fail("order-audience-before-role", "wrong audience and wrong role: the audience is reported",
     good(claims(role="spectator")), "token_wrong_audience",
     rule=rules("player", audience="ithaca-staging"))


def refuse_constant(name):
    raise ValueError(f"{name} is not JSON")


def unverified_session_id(tok):
    """What a client reads without verifying (the SDKs' extract_session_id): the session_id claim
    when the token has three parts and its payload is strict unpadded base64url of UTF-8 JSON, an
    object whose session_id is a non-empty string; else None. Header and signature are not read."""
    parts = tok.split(".")
    if len(parts) != 3:
        return None
    p = parts[1]
    if not re.fullmatch(r"[A-Za-z0-9_-]*", p) or len(p) % 4 == 1:
        return None
    try:
        text = base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)).decode("utf-8")
        obj = json.loads(text, parse_constant=refuse_constant)
    except ValueError:
        return None
    sid = obj.get("session_id") if isinstance(obj, dict) else None
    return sid if isinstance(sid, str) and sid != "" else None


for case in CASES:
    case["unverified_session_id"] = unverified_session_id(case["token"])

doc = {
    "about": "HS256 session and access token vectors for Ithaca: C++ (ithaca/auth/token.cpp) "
             "verifies every case; the SDKs, which never verify tokens, check only "
             "unverified_session_id. Format and verification order: spec/vectors/README.md. "
             "Generated by spec/vectors/make_tokens.py; do not edit by hand.",
    "keys": [{"kid": kid, "secret_b64url": b64(secret)} for kid, secret in KEYS],
    "cases": CASES,
}
ids = [case["id"] for case in CASES]
assert len(ids) == len(set(ids)), "case ids must be unique"
json.dump(doc, sys.stdout, indent=2, ensure_ascii=False)
sys.stdout.write("\n")
