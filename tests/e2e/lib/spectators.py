"""Python spectators for the e2e tests (tests/e2e/broadcast.test.mjs): N connect_to_stream
viewers in one process, reporting on stdout as JSON lines the test reads.

    spectators.py WEBRTC_URL TOKEN [TOKEN...] [--count N] [--seconds S]

Spectator i uses TOKEN[i % len(TOKENS)]. Lines: {"spectator": i, "event": ...} with event
"first_frame" (``ms``: from calling connect_to_stream to the first decoded frame), "marker"
(``sequence``: the frame marker, each time it changes), "disconnected" (``reason``), "error"
(``code``, ``message``: the connect failed), then {"event": "done"} once every spectator ended
(or after --seconds, when the rest leave with a WHEP DELETE). Every line has "at": the wall
clock in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from ithaca import IthacaError, connect_to_stream
from ithaca.marker import decode_marker

# Reading the marker costs a slice of an RGB frame; every 3rd frame (10 Hz) is plenty to see a
# change, and keeps three viewers' CPU down on a shared 2-core machine.
MARKER_EVERY = 3


def emit(**fields: object) -> None:
    # "at": wall-clock ms, so the test can time events against its own clock.
    print(json.dumps({**fields, "at": round(time.time() * 1000)}), flush=True)


async def spectator(i: int, url: str, token: str, ended: asyncio.Event) -> object:
    state = {"frames": 0, "marker": None}
    t0 = time.monotonic()

    def on_frame(frame) -> None:  # type: ignore[no-untyped-def]
        state["frames"] += 1
        if state["frames"] == 1:
            emit(
                spectator=i,
                event="first_frame",
                ms=round((time.monotonic() - t0) * 1000),
            )
        if state["frames"] % MARKER_EVERY:
            return
        sequence = decode_marker(frame.rgb)
        if sequence is not None and sequence != state["marker"]:
            state["marker"] = sequence
            emit(spectator=i, event="marker", sequence=sequence)

    def on_disconnected(reason: str) -> None:
        emit(spectator=i, event="disconnected", reason=reason)
        ended.set()

    try:
        return await connect_to_stream(
            url, token, on_video_frame=on_frame, on_disconnected=on_disconnected
        )
    except IthacaError as error:
        emit(spectator=i, event="error", code=error.code, message=error.message)
        ended.set()
        return None


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("tokens", nargs="+")
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    ended = [asyncio.Event() for _ in range(args.count)]
    conns = await asyncio.gather(
        *(
            spectator(i, args.url, args.tokens[i % len(args.tokens)], ended[i])
            for i in range(args.count)
        )
    )
    try:
        await asyncio.wait_for(
            asyncio.gather(*(e.wait() for e in ended)), timeout=args.seconds
        )
    except asyncio.TimeoutError:
        for conn in conns:
            if conn is not None:
                await conn.disconnect()  # type: ignore[attr-defined]
    emit(event="done")


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(130)
