"""start_stream's params, captured before they would go to the streamer (no server needed)."""

import pytest

from ithaca import Ithaca as Client
from ithaca.stream import StreamSession


def fake_session(sent: list) -> StreamSession:
    session = StreamSession.__new__(StreamSession)

    async def request(command, _expect, via_signaling=False):
        sent.append(command)
        return {"stream_id": "st_1"}

    session._request = request
    return session


@pytest.mark.asyncio
async def test_params_are_sent_in_interactive_stream_start():
    sent: list = []
    session = fake_session(sent)
    params = {"seed": 7, "nested": {"a": [1]}}
    assert await session.start_stream("a cat", params=params) == "st_1"
    assert sent[0]["type"] == "interactive_stream_start"
    assert sent[0]["params"] == params


@pytest.mark.asyncio
async def test_without_params_the_command_is_the_official_sdks():
    sent: list = []
    await fake_session(sent).start_stream("a cat")
    assert "params" not in sent[0]
    assert sorted(sent[0]) == ["broadcast", "input_image_base64", "portrait", "prompt", "type"]


@pytest.mark.asyncio
async def test_the_client_passes_params_through_and_checks_their_type():
    sent: list = []
    client = Client()
    client._session = fake_session(sent)
    client._live = lambda: client._session
    await client.start_stream("p", params={"seed": 1})
    assert sent[0]["params"] == {"seed": 1}
    with pytest.raises(TypeError):
        await client.start_stream("p", params=[1])
