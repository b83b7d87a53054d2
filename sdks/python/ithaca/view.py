"""The quickest check a backend developer can run: connect with client credentials, watch.

    python -m ithaca.view CREDENTIALS_URL_OR_FILE [--seconds 5] [--prompt TEXT] [--save-png PATH]
        [--portrait]

CREDENTIALS_URL_OR_FILE is a JSON file holding a credentials dict, ``-`` for standard input, or
an app's credentials route (``http(s)://...``), which is POSTed to, as the examples' ``POST
/api/credentials`` expects. It prints the time to first frame, frames per second, the
acknowledgement latency of ``--prompt`` (started as a stream, then sent as an interact), and the
process's CPU while decoding; ``--save-png`` writes the last frame.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from .client import Ithaca
from .errors import IthacaError
from .images import png_bytes


def load_credentials(source: str) -> dict[str, Any]:
    if source.startswith(("http://", "https://")):
        response = httpx.post(source, json={}, timeout=10, trust_env=False)
        if response.status_code >= 400:
            raise SystemExit(f"{source} answered {response.status_code}: {response.text[:300]}")
        return response.json()
    text = sys.stdin.read() if source == "-" else Path(source).read_text()
    return json.loads(text)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def watch(
    credentials: dict[str, Any], seconds: float, prompt: str | None, portrait: bool = False
) -> dict[str, Any]:
    frames: list[Any] = []
    client = Ithaca()
    started = time.monotonic()
    first: list[float] = []

    def on_frame(frame: Any) -> None:
        if not first:
            first.append(time.monotonic() - started)
        frames.append(frame)
        del frames[:-1]  # keep the last one only
        counts[0] += 1

    counts = [0]
    await client.connect_with_credentials(credentials, on_video_frame=on_frame)
    report: dict[str, Any] = {}
    if prompt:
        t0 = time.monotonic()
        report["stream_id"] = await client.start_stream(prompt, portrait=portrait)
        report["start_ms"] = round((time.monotonic() - t0) * 1000, 1)
        t0 = time.monotonic()
        report["acknowledged"] = await client.interact(prompt + ", a moment later")
        report["interact_ack_ms"] = round((time.monotonic() - t0) * 1000, 1)
    cpu0, counted0, t0 = cpu_seconds(), counts[0], time.monotonic()
    await asyncio.sleep(seconds)
    elapsed = time.monotonic() - t0
    report.update(
        first_frame_ms=round(first[0] * 1000, 1) if first else None,
        frames_per_second=round((counts[0] - counted0) / elapsed, 1),
        cpu_percent_of_a_core=round((cpu_seconds() - cpu0) / elapsed * 100, 1),
        frame_size=f"{frames[-1].width}x{frames[-1].height}" if frames else None,
    )
    report["last_frame"] = frames[-1] if frames else None
    await client.disconnect()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ithaca.view", description=__doc__.split("\n")[0]
    )
    parser.add_argument("credentials", help="JSON file, '-' for stdin, or an app's credentials URL")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long to watch")
    parser.add_argument("--prompt", help="start a stream with this prompt, then interact")
    parser.add_argument("--save-png", type=Path, help="write the last frame as PNG")
    parser.add_argument(
        "--portrait", action="store_true", help="start a 704x1280 stream (default 1280x704)"
    )
    args = parser.parse_args(argv)
    try:
        report = asyncio.run(
            watch(load_credentials(args.credentials), args.seconds, args.prompt, args.portrait)
        )
    except IthacaError as e:
        print(f"error: {e.code}: {e}", file=sys.stderr)
        return 1
    last = report.pop("last_frame")
    if args.save_png and last is not None:
        args.save_png.write_bytes(png_bytes(last.data))
        report["saved"] = str(args.save_png)
    for key, value in report.items():
        print(f"{key:24} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
