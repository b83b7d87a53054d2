"""spec/vectors/http_errors.json: every error answer decodes to the error its case expects,
through create_client_credentials over an httpx mock transport."""

import httpx
import pytest
from conftest import load_json

import ithaca
from ithaca import Ithaca, IthacaError, RateLimitError

VECTORS = load_json("vectors/http_errors.json")["cases"]


def test_has_cases_some_written_by_the_server():
    assert len(VECTORS) >= 20
    assert any("server" in v for v in VECTORS)


@pytest.mark.asyncio
@pytest.mark.parametrize("v", VECTORS, ids=[v["id"] for v in VECTORS])
async def test_vector(v):
    r = v["response"]

    def answer(request: httpx.Request) -> httpx.Response:
        headers = {"Content-Type": "application/json", **r["headers"]}
        return httpx.Response(r["status"], headers=headers, content=r["body"].encode())

    client = Ithaca(
        "ith_test_0123456789abcdef", "http://api", transport=httpx.MockTransport(answer)
    )
    with pytest.raises(IthacaError) as info:
        await client.create_client_credentials()
    err, e = info.value, v["expect"]
    assert type(err) is getattr(ithaca, e["family"])
    assert err.code == e["code"]
    assert err.message == e["message"]
    assert err.retryable is e["retryable"]
    assert err.action == e["action"]
    assert err.details == e["details"]
    assert err.status == e["status"]
    if isinstance(err, RateLimitError):
        assert err.retry_after_seconds == e["details"].get("retry_after_seconds")
