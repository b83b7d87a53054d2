"""Ithaca.create_client_credentials against a real local HTTP server (asyncio.start_server
writing raw HTTP/1.1), not a mocked transport."""

import asyncio
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import pytest_asyncio
from conftest import load_json

from ithaca import (
    AuthError,
    ClientCredentials,
    ConcurrentLimitReachedError,
    ConnectionError,
    IthacaError,
    RateLimitError,
    RequestError,
    UsageError,
)
from ithaca import Ithaca as Client

API_KEY = "ith_test_0123456789abcdef"
GOOD = next(
    v for v in load_json("vectors/credentials.json")["cases"] if v["id"] == "snake_case_roundtrip"
)

REASONS = {200: "OK", 201: "Created", 401: "Unauthorized", 429: "Too Many Requests"}


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int
    body: object = ""
    headers: dict[str, str] = field(default_factory=dict)


class Stub:
    """Answers every request with what ``reply`` returns and records the requests."""

    def __init__(self) -> None:
        self.reply: Callable[[Request], Reply] = lambda _req: Reply(500)
        self.requests: list[Request] = []
        self.server: asyncio.base_events.Server | None = None
        self.url = ""

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _version = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            request = Request(method, path, headers, body)
            self.requests.append(request)
            r = self.reply(request)
            payload = r.body if isinstance(r.body, str) else json.dumps(r.body)
            data = payload.encode()
            out = [f"HTTP/1.1 {r.status} {REASONS.get(r.status, 'Status')}"]
            out += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
            out += ["Connection: close"] + [f"{k}: {v}" for k, v in r.headers.items()]
            writer.write(("\r\n".join(out) + "\r\n\r\n").encode() + data)
            await writer.drain()
        finally:
            writer.close()


@pytest_asyncio.fixture
async def stub():
    s = Stub()
    await s.start()
    yield s
    await s.stop()


def detail(code: str, **extra) -> dict:
    return {"detail": {"code": code, "message": f"{code} message", **extra}}


def dead_url() -> str:
    # A port that was just free: nothing listens there.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.mark.asyncio
async def test_201_posts_with_the_key_and_returns_credentials(stub):
    stub.reply = lambda _req: Reply(201, GOOD["input"])
    creds = await Client(api_key=API_KEY, api_url=stub.url + "/").create_client_credentials(
        metadata={"user": "u1"}
    )
    assert isinstance(creds, ClientCredentials)
    assert creds.to_json() == GOOD["expect"]["json"]
    [req] = stub.requests
    assert req.method == "POST"
    assert req.path == "/v1/client_credentials"
    assert req.headers["authorization"] == f"Bearer {API_KEY}"
    assert req.headers["content-type"] == "application/json"
    assert json.loads(req.body) == {"metadata": {"user": "u1"}}


@pytest.mark.asyncio
async def test_no_metadata_sends_an_empty_object(stub):
    stub.reply = lambda _req: Reply(201, GOOD["input"])
    await Client(api_key=API_KEY, api_url=stub.url).create_client_credentials()
    assert json.loads(stub.requests[0].body) == {}


@pytest.mark.asyncio
async def test_reads_the_environment(stub, monkeypatch):
    monkeypatch.setenv("ITHACA_API_KEY", API_KEY)
    monkeypatch.setenv("ITHACA_API_URL", stub.url)
    stub.reply = lambda _req: Reply(201, GOOD["input"])
    creds = await Client().create_client_credentials()
    assert creds.session_id == GOOD["expect"]["object"]["session_id"]
    assert stub.requests[0].headers["authorization"] == f"Bearer {API_KEY}"


@pytest.mark.asyncio
async def test_an_app_pointed_at_odyssey_api_url_keeps_working(stub, monkeypatch):
    monkeypatch.delenv("ITHACA_API_URL", raising=False)
    monkeypatch.setenv("ODYSSEY_API_URL", stub.url)
    stub.reply = lambda _req: Reply(201, GOOD["input"])
    creds = await Client(api_key=API_KEY).create_client_credentials()
    assert creds.session_id == GOOD["expect"]["object"]["session_id"]


@pytest.mark.asyncio
@pytest.mark.parametrize("key", [None, ""])
async def test_no_api_key_raises_before_any_request(stub, monkeypatch, key):
    monkeypatch.delenv("ITHACA_API_KEY", raising=False)
    client = Client(api_key=key, api_url=stub.url)
    with pytest.raises(AuthError) as info:
        await client.create_client_credentials()
    assert info.value.code == "missing_api_key"
    assert stub.requests == []


@pytest.mark.asyncio
async def test_no_api_url_raises_value_error(monkeypatch):
    monkeypatch.delenv("ITHACA_API_URL", raising=False)
    monkeypatch.delenv("ODYSSEY_API_URL", raising=False)
    with pytest.raises(ValueError, match="ITHACA_API_URL"):
        await Client(api_key=API_KEY).create_client_credentials()


@pytest.mark.asyncio
async def test_429_concurrent_limit(stub):
    stub.reply = lambda _req: Reply(
        429,
        detail(
            "CONCURRENT_LIMIT_REACHED",
            retryable=True,
            action="End a session first.",
            details={"active_count": 2, "limit": 2},
        ),
    )
    with pytest.raises(ConcurrentLimitReachedError) as info:
        await Client(api_key=API_KEY, api_url=stub.url).create_client_credentials()
    err = info.value
    assert isinstance(err, UsageError)
    assert err.code == "CONCURRENT_LIMIT_REACHED"
    assert err.message == "CONCURRENT_LIMIT_REACHED message"
    assert err.details == {"active_count": 2, "limit": 2}
    assert err.action == "End a session first."
    assert err.retryable is True
    assert err.status == 429


@pytest.mark.asyncio
async def test_429_rate_limited_reads_retry_after(stub):
    stub.reply = lambda _req: Reply(429, detail("RATE_LIMITED"), {"Retry-After": "12"})
    with pytest.raises(RateLimitError) as info:
        await Client(api_key=API_KEY, api_url=stub.url).create_client_credentials()
    assert info.value.details == {"retry_after_seconds": 12}
    assert info.value.retry_after_seconds == 12
    assert info.value.retryable is True


@pytest.mark.asyncio
async def test_rate_limited_details_win_over_retry_after(stub):
    stub.reply = lambda _req: Reply(
        429, detail("RATE_LIMITED", details={"retry_after_seconds": 3}), {"Retry-After": "12"}
    )
    with pytest.raises(RateLimitError) as info:
        await Client(api_key=API_KEY, api_url=stub.url).create_client_credentials()
    assert info.value.retry_after_seconds == 3


@pytest.mark.asyncio
async def test_401_invalid_api_key(stub):
    stub.reply = lambda _req: Reply(401, detail("invalid_api_key", retryable=False))
    with pytest.raises(AuthError) as info:
        await Client(api_key=API_KEY, api_url=stub.url).create_client_credentials()
    assert type(info.value) is AuthError
    assert info.value.code == "invalid_api_key"
    assert info.value.status == 401
    assert API_KEY not in str(info.value)


@pytest.mark.asyncio
async def test_odyssey_error_spelling(stub):
    stub.reply = lambda _req: Reply(
        429, {"detail": {"error": "CONCURRENT_LIMIT_REACHED", "message": "busy"}}
    )
    with pytest.raises(ConcurrentLimitReachedError, match="busy"):
        await Client(api_key=API_KEY, api_url=stub.url).create_client_credentials()


@pytest.mark.asyncio
async def test_catalog_code_in_a_400(stub):
    stub.reply = lambda _req: Reply(400, detail("invalid_metadata"))
    with pytest.raises(RequestError) as info:
        await Client(api_key=API_KEY, api_url=stub.url).create_client_credentials(
            metadata={"k": "v"}
        )
    assert info.value.code == "invalid_metadata"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("status", "body", "cls", "retryable"),
    [
        (401, "<html>nope</html>", AuthError, False),
        (403, "", AuthError, False),
        (429, "", UsageError, True),
        (502, {"detail": "bad gateway"}, ConnectionError, True),
        (500, {"detail": [{"loc": ["body"]}]}, ConnectionError, False),
        (418, "", IthacaError, False),
    ],
)
async def test_other_error_bodies_are_classified_by_status(stub, status, body, cls, retryable):
    stub.reply = lambda _req: Reply(status, body)
    with pytest.raises(IthacaError) as info:
        await Client(api_key=API_KEY, api_url=stub.url).create_client_credentials()
    assert type(info.value) is cls
    assert info.value.code == f"http_{status}"
    assert info.value.retryable is retryable
    assert info.value.status == status


@pytest.mark.asyncio
async def test_a_201_that_is_not_json(stub):
    stub.reply = lambda _req: Reply(201, "not json")
    with pytest.raises(IthacaError) as info:
        await Client(api_key=API_KEY, api_url=stub.url).create_client_credentials()
    assert type(info.value) is IthacaError
    assert info.value.code == "invalid_response"


@pytest.mark.asyncio
async def test_a_201_with_bad_credentials_raises_value_error(stub):
    stub.reply = lambda _req: Reply(201, {**GOOD["input"], "session_token": "a.b"})
    with pytest.raises(ValueError, match="session_token"):
        await Client(api_key=API_KEY, api_url=stub.url).create_client_credentials()


@pytest.mark.asyncio
async def test_network_failure():
    url = dead_url()
    with pytest.raises(ConnectionError) as info:
        await Client(api_key=API_KEY, api_url=url).create_client_credentials()
    err = info.value
    assert err.code == "network_error"
    assert err.retryable is True
    assert url in err.message
    assert err.__cause__ is not None, "keeps the httpx error as cause"
    for text in (str(err), repr(err), err.message, str(err.__cause__)):
        assert API_KEY not in text


@pytest.mark.asyncio
async def test_network_failure_message_never_carries_the_key():
    # Even a URL that embeds the key (a misconfiguration) does not leak it into the message.
    url = dead_url() + f"/{API_KEY}"
    with pytest.raises(ConnectionError) as info:
        await Client(api_key=API_KEY, api_url=url).create_client_credentials()
    assert API_KEY not in str(info.value)


def test_repr_hides_the_key():
    client = Client(api_key=API_KEY, api_url="http://127.0.0.1:1")
    assert API_KEY not in repr(client)


@pytest.mark.asyncio
async def test_model_is_sent_only_when_given(stub):
    stub.reply = lambda _req: Reply(201, GOOD["input"])
    client = Client(api_key=API_KEY, api_url=stub.url)
    await client.create_client_credentials(model="my-world")
    await client.create_client_credentials()
    assert json.loads(stub.requests[0].body) == {"model": "my-world"}
    assert json.loads(stub.requests[1].body) == {}


@pytest.mark.asyncio
async def test_unknown_model_raises_a_request_error(stub):
    stub.reply = lambda _req: Reply(400, detail("unknown_model"))
    with pytest.raises(RequestError) as e:
        await Client(api_key=API_KEY, api_url=stub.url).create_client_credentials(model="x")
    assert e.value.code == "unknown_model"


@pytest.mark.asyncio
async def test_list_models_gets_with_the_key(stub):
    answer = {"models": [{"name": "my-world", "capacity": 2}], "default": None}
    stub.reply = lambda _req: Reply(200, answer)
    assert await Client(api_key=API_KEY, api_url=stub.url).list_models() == answer
    [req] = stub.requests
    assert req.method == "GET"
    assert req.path == "/v1/models"
    assert req.headers["authorization"] == f"Bearer {API_KEY}"
    assert req.body == b""
    stub.reply = lambda _req: Reply(200, {"nope": 1})
    with pytest.raises(IthacaError):
        await Client(api_key=API_KEY, api_url=stub.url).list_models()
