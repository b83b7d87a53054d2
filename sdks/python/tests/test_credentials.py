import base64
import dataclasses
import json

import pytest
from conftest import load_json

from ithaca import ClientCredentials, CredentialsError, extract_session_id

VECTORS = load_json("vectors/credentials.json")["cases"]
# The SDK never verifies a token (the server does); of spec/vectors/tokens.json it reads only
# what an unverified read gives: each case's unverified_session_id (None: extract refuses).
TOKEN_VECTORS = load_json("vectors/tokens.json")["cases"]


def for_python(v):
    # A case without "readers" is for every reader; otherwise only for those listed.
    return "readers" not in v or "python" in v["readers"]


def test_vectors_present():
    assert len(VECTORS) >= 10
    assert sum(for_python(v) for v in VECTORS) >= 10
    assert any(not for_python(v) for v in VECTORS), "the camelCase case is marked JS-only"


@pytest.mark.parametrize("v", VECTORS, ids=[v["id"] for v in VECTORS])
def test_vector(v):
    if not for_python(v):
        pytest.skip(f"not a python reader case (readers: {v['readers']})")
    expect = v["expect"]
    if "error" in expect:
        with pytest.raises(ValueError) as info:
            ClientCredentials.from_dict(v["input"])
        err = info.value
        assert isinstance(err, CredentialsError)
        assert err.code == expect["error"]
        assert err.field == expect["field"]
        assert expect["field"] in str(err)
        return
    creds = ClientCredentials.from_dict(v["input"])
    assert creds.to_dict() == expect["object"]
    assert list(creds.to_dict()) == [
        "session_id",
        "signaling_url",
        "session_token",
        "expires_in",
        "capabilities",
    ]
    assert creds.to_json() == expect["json"]
    assert json.dumps(creds.to_dict(), separators=(",", ":")) == expect["json"]
    # Writing what was read and reading it again changes nothing.
    assert ClientCredentials.from_dict(json.loads(creds.to_json())) == creds


def test_camel_case_rejected_by_python_reader(credential_vectors):
    v = next(c for c in credential_vectors if c["id"] == "camel_case_input")
    with pytest.raises(CredentialsError) as info:
        ClientCredentials.from_dict(v["input"])
    assert info.value.code == "missing_field"
    assert info.value.field == "signaling_url"


def test_is_frozen(good_input):
    creds = ClientCredentials.from_dict(good_input)
    with pytest.raises(dataclasses.FrozenInstanceError):
        creds.session_token = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        creds.capabilities["image_to_video"] = True  # type: ignore[index]


def test_does_not_share_the_inputs_capabilities(good_input):
    data = {**good_input, "capabilities": {"image_to_video": False}}
    creds = ClientCredentials.from_dict(data)
    data["capabilities"]["image_to_video"] = True
    assert creds.capabilities["image_to_video"] is False
    out = creds.to_dict()
    out["capabilities"]["image_to_video"] = True
    assert creds.capabilities["image_to_video"] is False


def test_repr_hides_the_token(good_input):
    creds = ClientCredentials.from_dict(good_input)
    token = creds.session_token
    for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
        assert token not in text
        assert token[6:20] not in text
        assert f"{token[:6]}...({len(token)})" in text
        assert creds.session_id in text


def test_unknown_fields_are_ignored(good_input):
    creds = ClientCredentials.from_dict({**good_input, "region": "eu", "streamer_id": 3})
    assert "region" not in creds.to_dict()


def test_none_counts_as_missing(good_input):
    for name in ("signaling_url", "session_token", "expires_in"):
        with pytest.raises(CredentialsError) as info:
            ClientCredentials.from_dict({**good_input, name: None})
        assert (info.value.code, info.value.field) == ("missing_field", name)
    # Absent or None capabilities read as {}.
    assert ClientCredentials.from_dict({**good_input, "capabilities": None}).capabilities == {}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("expires_in", True),
        ("expires_in", 600.5),
        ("expires_in", "600"),
        ("signaling_url", 5),
        ("signaling_url", ["ws://x"]),
        ("session_token", 7),
        ("capabilities", "yes"),
        ("capabilities", [1]),
    ],
)
def test_wrong_types_name_the_field(good_input, name, value):
    with pytest.raises(CredentialsError) as info:
        ClientCredentials.from_dict({**good_input, name: value})
    assert (info.value.code, info.value.field) == ("wrong_type", name)
    assert name in str(info.value)


def test_integral_float_expires_in_reads_as_int(good_input):
    # JSON 600.0 is an integer to JS (Number.isInteger); Python agrees and writes 600.
    creds = ClientCredentials.from_dict({**good_input, "expires_in": 600.0})
    assert creds.expires_in == 600
    assert type(creds.expires_in) is int


def test_not_a_mapping():
    for data in (None, [], "x", 3):
        with pytest.raises(CredentialsError) as info:
            ClientCredentials.from_dict(data)  # type: ignore[arg-type]
        assert info.value.code == "wrong_type"


def b64url(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


HEADER = b64url('{"alg":"HS256"}')


def token(payload: str) -> str:
    return f"{HEADER}.{payload}.c2ln"


def json_token(claims) -> str:
    return token(b64url(json.dumps(claims)))


def test_token_vectors_have_both_outcomes():
    outcomes = {v["unverified_session_id"] is None for v in TOKEN_VECTORS}
    assert outcomes == {True, False}


@pytest.mark.parametrize("v", TOKEN_VECTORS, ids=[v["id"] for v in TOKEN_VECTORS])
def test_token_vector_extract_session_id(v):
    if v["unverified_session_id"] is None:
        with pytest.raises(CredentialsError) as info:
            extract_session_id(v["token"])
        assert (info.value.code, info.value.field) == ("invalid_token", "session_token")
    else:
        assert extract_session_id(v["token"]) == v["unverified_session_id"]


def test_extract_reads_the_claim():
    assert extract_session_id(json_token({"session_id": "ses_1", "x": [1]})) == "ses_1"
    assert extract_session_id(json_token({"session_id": "ses_é✓"})) == "ses_é✓"
    # Payload lengths that need one and two padding characters.
    for sid in ("a", "ab", "abc", "abcd"):
        assert extract_session_id(json_token({"session_id": sid})) == sid


MALFORMED = {
    "two parts": "a.b",
    "four parts": json_token({"session_id": "s"}) + ".extra",
    "one part": "abc",
    "empty string": "",
    "empty payload": "a..c",
    "bad base64 characters": token("@@@"),
    "standard base64 alphabet": token(
        base64.b64encode(b'{"session_id":"s?>"}').decode().rstrip("=")
    ),
    "padding": token(b64url('{"session_id":"s"}') + "="),
    "impossible length": token("abcde"),
    "invalid UTF-8": token(b64url(bytes([0x7B, 0xFF, 0x7D]))),
    "non-JSON payload": token(b64url("not json")),
    "NaN payload": token(b64url("NaN")),
    "JSON array payload": token(b64url('["session_id"]')),
    "JSON string payload": token(b64url('"ses_1"')),
    "JSON null payload": token(b64url("null")),
    "missing session_id": json_token({"account": "acme"}),
    "empty session_id": json_token({"session_id": ""}),
    "numeric session_id": json_token({"session_id": 42}),
    "boolean session_id": json_token({"session_id": True}),
    "null session_id": json_token({"session_id": None}),
    "object session_id": json_token({"session_id": {"id": "s"}}),
}


@pytest.mark.parametrize("bad", list(MALFORMED.values()), ids=list(MALFORMED))
def test_extract_rejects(bad):
    with pytest.raises(ValueError) as info:
        extract_session_id(bad)
    assert isinstance(info.value, CredentialsError)
    assert (info.value.code, info.value.field) == ("invalid_token", "session_token")
    assert "session_token" in str(info.value)


def test_extract_names_the_problem():
    with pytest.raises(ValueError, match="3 dot-separated parts, not 2"):
        extract_session_id("a.b")
    with pytest.raises(ValueError, match="3 dot-separated parts, not 4"):
        extract_session_id("a.b.c.d")
    with pytest.raises(ValueError, match="not base64url JSON"):
        extract_session_id(token("@@@"))
    with pytest.raises(ValueError, match="not base64url JSON"):
        extract_session_id(token(b64url("not json")))
    with pytest.raises(ValueError, match="not a JSON object"):
        extract_session_id(token(b64url("[1]")))
    with pytest.raises(ValueError, match="non-empty string session_id"):
        extract_session_id(json_token({"session_id": ""}))


@pytest.mark.parametrize("bad", [None, 42, {}, ["a", "b", "c"], b"a.b.c"])
def test_extract_rejects_non_strings(bad):
    with pytest.raises(CredentialsError) as info:
        extract_session_id(bad)
    assert info.value.code == "invalid_token"
