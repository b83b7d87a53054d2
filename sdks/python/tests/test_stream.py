"""The streaming client against a real Ithaca (``ithaca server --dev``, in-process streamer).

The binary comes from ``ITHACA_BIN`` (default build/dev/apps/ithaca/ithaca); without it these
tests are skipped.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import struct
import subprocess
import time

import httpx
import pytest
from conftest import REPO_ROOT

from ithaca import ClientCredentials, Ithaca, VideoFrame
from ithaca.marker import decode_marker


def api_get(server, path):
    response = httpx.get(
        server["url"] + path,
        headers={"Authorization": f"Bearer {server['key']}"},
        trust_env=False,
    )
    response.raise_for_status()
    return response.json()


async def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.mark.asyncio
async def test_stream_end_to_end(server):
    client = Ithaca(api_key=server["key"], api_url=server["url"])
    creds = await client.create_client_credentials()
    frames: list[VideoFrame] = []
    events: dict[str, list] = {"disconnected": [], "statuses": [], "started": [], "acks": []}

    def on_frame(frame: VideoFrame) -> None:
        frames.append(frame) if len(frames) < 5 else frames.__setitem__(-1, frame)
        on_frame.count += 1

    on_frame.count = 0

    await client.connect_with_credentials(
        creds,
        on_video_frame=on_frame,
        on_disconnected=lambda: events["disconnected"].append(True),
        on_status_change=lambda s, _m: events["statuses"].append(s),
        on_stream_started=lambda sid: events["started"].append(sid),
        on_interact_acknowledged=lambda p: events["acks"].append(p),
    )
    assert client.status == "connected"
    assert events["statuses"][:3] == ["authenticating", "connecting", "connected"]

    stream_id = await client.start_stream("a lighthouse at dusk", portrait=False)
    assert isinstance(stream_id, str) and stream_id
    assert events["started"] == [stream_id]

    await wait_for(lambda: on_frame.count >= 60, 20, "60 frames")
    frame = frames[-1]
    assert (frame.width, frame.height) == (1280, 704)
    assert frame.rgb.shape == (704, 1280, 3) and frame.rgb.dtype.name == "uint8"
    assert frame.timestamp >= 0 and frame.received_at > 0

    ack = await client.session.interact_event("now it rains")
    assert ack["prompt"] == "now it rains"
    assert events["acks"] == ["now it rains"]
    sequence = ack["sequence"]
    # The marker on the video follows the acknowledged prompt's sequence number.
    await wait_for(lambda: decode_marker(frames[-1].rgb) == sequence, 10, f"marker {sequence}")

    assert await client.interact("and snow") == "and snow"
    await client.end_stream()
    assert client.session.stream_id is None

    await client.disconnect()
    assert client.status == "disconnected"
    assert events["disconnected"] == [True]

    session = api_get(server, f"/v1/sessions/{creds.session_id}")
    assert session["state"] == "ended"
    assert session["end_cause"] == "client_disconnect"
    assert api_get(server, "/v1/usage")["active_count"] == 0


@pytest.mark.asyncio
async def test_commands_before_connect_and_after_disconnect(server):
    client = Ithaca(api_key=server["key"], api_url=server["url"])
    creds = await client.create_client_credentials()
    connecting = asyncio.ensure_future(client.connect_with_credentials(creds.to_dict()))
    # Issued while still connecting: waits for clientToStreamer instead of being lost.
    while client.session is None:
        await asyncio.sleep(0)
    stream_id = await client.start_stream("early", portrait=False)
    await connecting
    assert stream_id
    await client.disconnect()
    from ithaca import ConnectionError

    with pytest.raises(ConnectionError):
        await client.interact("too late")


@pytest.mark.asyncio
async def test_time_to_first_frame(server):
    client = Ithaca(api_key=server["key"], api_url=server["url"])
    samples = []
    for _ in range(5):
        creds = await client.create_client_credentials()
        first = asyncio.get_running_loop().create_future()

        def on_frame(_frame, first=first):
            if not first.done():
                first.set_result(time.monotonic())

        t0 = time.monotonic()
        await client.connect_with_credentials(creds, on_video_frame=on_frame)
        samples.append(await asyncio.wait_for(first, 10) - t0)
        await client.disconnect()
    median = statistics.median(samples)
    print(f"\ntime to first frame: median {median * 1000:.0f} ms over {samples!r}")
    assert median < 2.0


def test_viewer_reports_rates_and_saves_a_png(server, tmp_path, capsys):
    from ithaca import view

    creds = asyncio.run(
        Ithaca(api_key=server["key"], api_url=server["url"]).create_client_credentials()
    )
    source = tmp_path / "creds.json"
    source.write_text(creds.to_json())
    png = tmp_path / "frame.png"
    assert (
        view.main([str(source), "--seconds", "2", "--prompt", "a lake", "--save-png", str(png)])
        == 0
    )
    out = dict(line.split(None, 1) for line in capsys.readouterr().out.strip().splitlines())
    assert float(out["frames_per_second"]) > 15, out
    assert float(out["first_frame_ms"]) < 2000, out
    assert out["acknowledged"].strip() == "a lake, a moment later"
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1280, 704)


@pytest.mark.asyncio
async def test_credentials_minted_by_the_js_sdk_connect_in_python(server):
    # The JavaScript SDK's server entry mints and writes the dict; Python reads it and streams.
    script = (
        "import { createClientCredentials, credentialsToJSON } from "
        f"{json.dumps((REPO_ROOT / 'sdks/js/src/server.js').as_uri())};"
        "console.log(credentialsToJSON(await createClientCredentials()));"
    )
    minted = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        env={**os.environ, "ITHACA_API_KEY": server["key"], "ITHACA_API_URL": server["url"]},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.strip()
    creds = ClientCredentials.from_dict(json.loads(minted))
    assert creds.to_json() == minted  # the same bytes from both SDKs
    client = Ithaca()
    count = [0]
    await client.connect_with_credentials(
        creds, on_video_frame=lambda _f: count.__setitem__(0, count[0] + 1)
    )
    await wait_for(lambda: count[0] >= 30, 20, "30 frames")
    await client.disconnect()
    assert api_get(server, f"/v1/sessions/{creds.session_id}")["end_cause"] == "client_disconnect"


@pytest.mark.asyncio
async def test_connect_with_the_api_key_mints_then_streams(server):
    from ithaca import Status

    client = Ithaca(api_key=server["key"], api_url=server["url"])
    count = [0]
    await client.connect(on_video_frame=lambda _f: count.__setitem__(0, count[0] + 1))
    assert client.status == Status.CONNECTED
    await wait_for(lambda: count[0] >= 10, 20, "10 frames")
    session_id = client.session.session_id
    await client.disconnect()
    assert client.status == Status.DISCONNECTED
    assert api_get(server, f"/v1/sessions/{session_id}")["end_cause"] == "client_disconnect"


@pytest.mark.asyncio
async def test_an_unclean_drop_reconnects_to_the_same_session(server):
    client = Ithaca(api_key=server["key"], api_url=server["url"])
    statuses: list[str] = []
    count = [0]
    await client.connect(
        on_video_frame=lambda _f: count.__setitem__(0, count[0] + 1),
        on_status_change=lambda s, _m: statuses.append(s),
    )
    session_id = client.session.session_id
    # The network drops: the signaling socket closes without client_disconnecting (test only).
    await client.session._conn.ws.close(code=4000)
    await wait_for(lambda: "reconnecting" in statuses, 10, "reconnecting")
    await wait_for(lambda: statuses[-1] == "connected", 20, "connected again")
    before = count[0]
    await wait_for(lambda: count[0] >= before + 10, 20, "frames after the reconnect")
    assert api_get(server, f"/v1/sessions/{session_id}")["state"] == "connected"
    stream_id = await client.start_stream("after the drop", portrait=False)
    assert stream_id
    await client.disconnect()
    assert api_get(server, f"/v1/sessions/{session_id}")["end_cause"] == "client_disconnect"


@pytest.mark.asyncio
async def test_broadcast_host_and_spectator(server):
    """A Python host broadcasts; a Python spectator (connect_to_stream) watches it, sees the
    host's interact, holds no slot, and is closed when the host ends the stream."""
    from ithaca import AuthError, BroadcastInfo, StreamError, connect_to_stream

    client = Ithaca(api_key=server["key"], api_url=server["url"])
    ready: asyncio.Future[BroadcastInfo] = asyncio.get_running_loop().create_future()
    await client.connect(on_broadcast_ready=ready.set_result)
    stream_id = await client.start_stream("a lighthouse", portrait=False, broadcast=True)
    info = await asyncio.wait_for(ready, 15)
    assert info.stream_id == stream_id
    assert info.webrtc_url == f"{server['url']}/broadcast/{stream_id}"
    assert client.broadcast is info

    frames: list[VideoFrame] = []
    ended: list[str] = []
    t0 = time.monotonic()
    viewer = await connect_to_stream(
        info.webrtc_url,
        info.spectator_token,
        on_video_frame=lambda f: frames.append(f) if len(frames) < 2 else frames.__setitem__(1, f),
        on_disconnected=ended.append,
    )
    await viewer.wait_first_frame(10)
    ttff_ms = (viewer.first_frame_at - t0) * 1000
    print(f"\nspectator: connect_to_stream() to first frame {ttff_ms:.0f} ms")
    assert (frames[0].width, frames[0].height) == (1280, 704)
    assert api_get(server, "/v1/usage")["active_count"] == 1, "a spectator holds no slot"

    ack = await client.session.interact_event("now it rains")
    await wait_for(lambda: decode_marker(frames[-1].rgb) == ack["sequence"], 10, "the marker")

    extra = await client.create_spectator_token(client.session.session_id)
    assert extra.stream_id == stream_id and extra.spectator_token != info.spectator_token
    with pytest.raises(AuthError) as bad:
        await connect_to_stream(info.webrtc_url, info.spectator_token[:-4] + "AAAA")
    assert bad.value.code == "spectator_token_invalid"

    await client.end_stream()
    assert await viewer.wait_closed(15) in ("closed", "track_ended", "media_timeout")
    assert ended == [viewer.end_reason]
    with pytest.raises(StreamError) as gone:
        await connect_to_stream(info.webrtc_url, info.spectator_token)
    assert gone.value.code == "stream_not_found"
    await client.disconnect()
