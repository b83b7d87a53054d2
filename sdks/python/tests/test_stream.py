"""The streaming client against a real Ithaca (``ithaca server --dev``, in-process streamer).

The binary comes from ``ITHACA_BIN`` (default build/dev/apps/ithaca/ithaca); without it these
tests are skipped.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from ithaca import Ithaca, VideoFrame
from ithaca.marker import decode_marker

REPO_ROOT = Path(__file__).resolve().parents[3]
BIN = Path(os.environ.get("ITHACA_BIN") or REPO_ROOT / "build/dev/apps/ithaca/ithaca")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not BIN.is_file():
        pytest.skip(f"no ithaca binary at {BIN} (build it, or set ITHACA_BIN)")
    data = tmp_path_factory.mktemp("ithaca-data")
    port_file = data / "port"
    proc = subprocess.Popen(
        [
            str(BIN),
            "server",
            "--dev",
            "--listen",
            "127.0.0.1:0",
            "--data",
            str(data),
            "--port-file",
            str(port_file),
        ],
        stdout=subprocess.DEVNULL,
        stderr=(data / "server.log").open("wb"),
    )
    try:
        deadline = time.monotonic() + 20
        while not (port_file.is_file() and port_file.read_text().strip()):
            if proc.poll() is not None or time.monotonic() > deadline:
                log = (data / "server.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"ithaca server did not start: {log}")
            time.sleep(0.05)
        port = int(port_file.read_text().strip())
        key_file = data / "dev-api-key"
        while not key_file.is_file() and time.monotonic() < deadline:
            time.sleep(0.05)
        yield {"url": f"http://127.0.0.1:{port}", "key": key_file.read_text().strip()}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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

    stream_id = await client.start_stream("a lighthouse at dusk")
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
    stream_id = await client.start_stream("early")
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
