"""The baseline of bench/model/compare.mjs: what an ML engineer writes instead of Ithaca to put a
Python world model on a web page. One aiortc server, one process: it loads a model class with the
ithaca_model interface (docs/model-workers.md section 1), streams its frames over WebRTC as H.264
(aiortc's encoder: libx264 through PyAV), and takes new prompts on a data channel.

    bench/model/.venv/bin/python bench/model/aiortc_baseline.py \
        [--model builtin | module:Class] [--listen 127.0.0.1:0] [--port-file FILE] \
        [--bitrate 2000]

- Signaling: ``POST /offer`` with ``{"sdp", "type", "prompt"?, "portrait"?}`` answers
  ``{"sdp", "type"}`` (CORS open, so a page of any origin may call it). The browser makes the
  data channel; on it, ``{"type": "update", "prompt"}`` answers
  ``{"type": "update_acknowledged", "sequence"}`` once the model has applied the prompt.
- One stream at a time (one model instance, as on one GPU): a new offer ends the previous one.
- Every frame carries the frame marker (ithaca/media/frame_marker.hpp) of the prompt it was made
  with, sequence 0 for the start prompt and one more for each update, so the page measures
  prompt-to-photon latency from the decoded video exactly as against Ithaca.
- The model's calls all run on one thread of their own (as ithaca_model promises), so a slow
  step does not stall the event loop; frames are paced at the model's rate by aiortc's
  ``VideoStreamTrack.next_timestamp``; a chunk (a list of frames) plays one frame per tick.
- The bitrate is fixed: aiortc would otherwise move it between 0.5 and 3 Mbit/s on the
  browser's REMB; the default, 2000 kbit/s, is ``ithaca streamer --bitrate``'s.

The model is loaded duck-typed (no dependency on the ithaca_model package): any class with
``load(ctx)``, ``start(prompt, portrait, image)``, ``interact(prompt)``, ``next_frames()`` and
``end()``; ``capabilities`` (``landscape``, ``portrait``, ``fps``) is read when present.
``--model builtin`` is the tiny test model below (a solid colour from a hash of the prompt).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import fractions
import hashlib
import importlib
import json
import logging
import os
import signal
import sys
import time
import types

import numpy as np

log = logging.getLogger("aiortc_baseline")

# ---- the frame marker (ithaca/media/frame_marker.hpp), drawn with numpy ----

MARKER_BLOCKS = 22  # 2 reference + 16 sequence + 4 check
MARKER_BLOCK_WIDTH = 32
MARKER_BLOCK_HEIGHT = 16
MARKER_WIDTH = MARKER_BLOCKS * MARKER_BLOCK_WIDTH  # 704
# RGB of the marker's white and black: BT.601 limited range, as the streamer draws Y 235 and 16.
MARKER_WHITE = 255
MARKER_BLACK = 0


def marker_check_bits(sequence: int) -> int:
    s = sequence & 0xFFFF
    return (s ^ (s >> 4) ^ (s >> 8) ^ (s >> 12) ^ 0xA) & 0xF


def marker_blocks(sequence: int) -> list[bool]:
    """The colour of each block, True = white: white, black, 16 sequence bits, 4 check bits."""
    s = sequence & 0xFFFF
    check = marker_check_bits(s)
    bits = [bool((s >> (15 - i)) & 1) for i in range(16)]
    bits += [bool((check >> (3 - i)) & 1) for i in range(4)]
    return [True, False, *bits]


def draw_marker(rgb: np.ndarray, sequence: int) -> bool:
    """Draws the marker of ``sequence`` into the top-left 704x16 pixels of an HxWx3 uint8 frame,
    in place; False, drawing nothing, for a smaller frame."""
    if rgb.ndim != 3 or rgb.shape[0] < MARKER_BLOCK_HEIGHT or rgb.shape[1] < MARKER_WIDTH:
        return False
    strip = rgb[:MARKER_BLOCK_HEIGHT, :MARKER_WIDTH].reshape(
        MARKER_BLOCK_HEIGHT, MARKER_BLOCKS, MARKER_BLOCK_WIDTH, rgb.shape[2]
    )
    levels = np.where(marker_blocks(sequence), MARKER_WHITE, MARKER_BLACK).astype(np.uint8)
    strip[:] = levels[None, :, None, None]
    return True


# ---- the built-in test model ----


class Capabilities(types.SimpleNamespace):
    """The fields of ithaca_model.Capabilities the baseline reads, with the same defaults."""

    def __init__(self, landscape=(1280, 704), portrait=(704, 1280), fps=30):
        super().__init__(landscape=tuple(landscape), portrait=tuple(portrait), fps=fps)


class SolidWorld:
    """A solid colour from a hash of the prompt, 1280x704 (704x1280 portrait) at 30 fps, with a
    grey ramp moving along the bottom 32 rows so the encoder always has a little motion: the
    cheapest possible model (tests/models/rgb_world.py's picture), so the benchmark measures the
    streaming around it."""

    name = "solid-world"
    version = "1.0"
    capabilities = Capabilities()
    band = 32  # rows of the moving ramp
    speed = 8  # its shift per frame, in pixels

    def load(self, ctx):
        self.frame = None

    def start(self, prompt, portrait, image):
        w, h = self.capabilities.portrait if portrait else self.capabilities.landscape
        self.frame = np.empty((h, w, 3), dtype=np.uint8)
        self.ramp = (np.arange(w) % 256).astype(np.uint8)
        self.t = 0
        return self.interact(prompt)

    def interact(self, prompt):
        self.colour = np.frombuffer(hashlib.sha256(prompt.encode()).digest()[:3], dtype=np.uint8)
        return prompt

    def next_frames(self):
        self.frame[: -self.band] = self.colour
        self.frame[-self.band :] = np.roll(self.ramp, self.t * self.speed)[None, :, None]
        self.t += 1
        return self.frame

    def end(self):
        self.frame = None


def load_model_class(spec: str):
    """``builtin`` or ``module:Class`` (importable from sys.path, e.g. with PYTHONPATH set)."""
    if spec == "builtin":
        return SolidWorld
    module_name, sep, class_name = spec.partition(":")
    if not sep or not module_name or not class_name:
        raise SystemExit(f"--model must be builtin or module:Class, not {spec!r}")
    cls = getattr(importlib.import_module(module_name), class_name)
    missing = [
        m for m in ("start", "interact", "next_frames") if not callable(getattr(cls, m, None))
    ]
    if missing:
        raise SystemExit(f"{spec} has no {', '.join(missing)}: not an ithaca_model-style model")
    return cls


def capabilities_of(model) -> Capabilities:
    caps = getattr(model, "capabilities", None)
    return Capabilities(
        landscape=getattr(caps, "landscape", (1280, 704)),
        portrait=getattr(caps, "portrait", (704, 1280)),
        fps=getattr(caps, "fps", 30),
    )


def as_frames(out) -> list[np.ndarray]:
    """next_frames()'s result as a list of HxWx3 uint8 arrays (one frame, a chunk, or anything
    with __array__, such as a CPU torch tensor)."""
    frames = list(out) if isinstance(out, (list, tuple)) else [out]
    result = []
    for f in frames:
        a = np.asarray(f)
        if a.ndim != 3 or a.shape[2] != 3 or a.dtype != np.uint8:
            raise ValueError(f"a frame must be HxWx3 uint8, not {a.shape} {a.dtype}")
        result.append(a)
    return result


# ---- the stream ----


class ModelRunner:
    """The model, on one thread of its own: every call into it goes through ``call``."""

    def __init__(self, cls):
        self.pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="model")
        self.model = self.pool.submit(cls).result()
        load = getattr(self.model, "load", None)
        if callable(load):
            ctx = types.SimpleNamespace(worker_id=0, device="cpu", log=log)
            self.pool.submit(load, ctx).result()
        self.caps = capabilities_of(self.model)

    async def call(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)


def make_track(runner: ModelRunner, fps: int):
    from aiortc import VideoStreamTrack
    from av import VideoFrame

    class ModelTrack(VideoStreamTrack):
        """Frames from the model, stamped with the marker of the prompt they were made with."""

        def __init__(self):
            super().__init__()
            self.sequence = 0  # the newest prompt applied before the next step
            self.pending: list[tuple[np.ndarray, int]] = []
            self.ended = False

        async def next_timestamp(self):
            # aiortc's pacing, at the model's rate rather than its fixed 30 fps.
            if self.readyState != "live":
                raise asyncio.CancelledError
            if hasattr(self, "_timestamp"):
                self._timestamp += int(90000 / fps)
                wait = self._start + (self._timestamp / 90000) - time.time()
                await asyncio.sleep(wait)
            else:
                self._start = time.time()
                self._timestamp = 0
            return self._timestamp, fractions.Fraction(1, 90000)

        async def recv(self):
            pts, time_base = await self.next_timestamp()
            if not self.pending:
                sequence = self.sequence
                frames = as_frames(await runner.call(runner.model.next_frames))
                self.pending = [(f, sequence) for f in frames]
            rgb, sequence = self.pending.pop(0)
            if not rgb.flags.writeable or not rgb.flags.c_contiguous:
                rgb = np.ascontiguousarray(rgb).copy()
            draw_marker(rgb, sequence)
            frame = VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = pts
            frame.time_base = time_base
            return frame

    return ModelTrack()


class Server:
    def __init__(self, runner: ModelRunner, bitrate_kbps: int):
        self.runner = runner
        self.bitrate_kbps = bitrate_kbps
        self.current = None  # (pc, track) of the stream
        self.tasks = set()  # the updates in flight

    async def end_current(self):
        if self.current is None:
            return
        pc, track = self.current
        self.current = None
        track.ended = True
        await pc.close()
        end = getattr(self.runner.model, "end", None)
        if callable(end):
            await self.runner.call(end)

    async def offer(self, body: dict) -> dict:
        from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription

        await self.end_current()
        prompt = str(body.get("prompt", ""))
        portrait = bool(body.get("portrait", False))
        await self.runner.call(self.runner.model.start, prompt, portrait, None)
        track = make_track(self.runner, int(self.runner.caps.fps))
        # No STUN server: aiortc's default is Google's, which a loopback benchmark must not wait on.
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.current = (pc, track)
        sequence = {"next": 0}

        @pc.on("datachannel")
        def on_datachannel(channel):
            @channel.on("message")
            def on_message(message):
                try:
                    msg = json.loads(message)
                except (TypeError, ValueError):
                    return
                if msg.get("type") != "update" or not isinstance(msg.get("prompt"), str):
                    return
                sequence["next"] = (sequence["next"] + 1) & 0xFFFF
                task = asyncio.ensure_future(
                    self.update(track, channel, msg["prompt"], sequence["next"])
                )
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)

        @pc.on("connectionstatechange")
        async def on_state():
            log.info("connection %s", pc.connectionState)
            if pc.connectionState in ("failed", "closed") and self.current == (pc, track):
                await self.end_current()

        transceiver = pc.addTransceiver(track, direction="sendonly")
        h264 = [c for c in RTCRtpSender.getCapabilities("video").codecs if c.name == "H264"]
        transceiver.setCodecPreferences(h264)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=body["sdp"], type=body["type"]))
        await pc.setLocalDescription(await pc.createAnswer())
        return {"sdp": pc.localDescription.sdp, "type": pc.localDescription.type}

    async def update(self, track, channel, prompt: str, sequence: int):
        try:
            await self.runner.call(self.runner.model.interact, prompt)
        except Exception as e:
            channel.send(json.dumps({"type": "error", "message": str(e)}))
            return
        track.sequence = sequence  # frames of steps from now on carry it
        channel.send(json.dumps({"type": "update_acknowledged", "sequence": sequence}))


# ---- HTTP: just enough for POST /offer (aiortc needs no web framework) ----

CORS = (
    "Access-Control-Allow-Origin: *\r\n"
    "Access-Control-Allow-Methods: POST, OPTIONS\r\n"
    "Access-Control-Allow-Headers: Content-Type\r\n"
)


async def handle_http(server: Server, reader, writer):
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])
        }
        body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
        status, payload = "404 Not Found", {"error": "not found"}
        if method == "OPTIONS":
            status, payload = "204 No Content", None
        elif method == "GET" and target == "/healthz":
            status, payload = "200 OK", {"ok": True, "pid": os.getpid()}
        elif method == "POST" and target == "/offer":
            try:
                status, payload = "200 OK", await server.offer(json.loads(body))
            except Exception as e:
                log.exception("offer failed")
                status, payload = "400 Bad Request", {"error": str(e)}
        data = b"" if payload is None else json.dumps(payload).encode()
        writer.write(
            (
                f"HTTP/1.1 {status}\r\n{CORS}Content-Type: application/json\r\n"
                f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
            ).encode()
            + data
        )
        await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="builtin", help="builtin, or module:Class")
    p.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (port 0: any free one)")
    p.add_argument("--port-file", help="write the bound port here once listening")
    p.add_argument("--bitrate", type=int, default=2000, help="video bitrate, kbit/s (fixed)")
    p.add_argument("--log-level", default="info")
    args = p.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), stream=sys.stderr, format="%(levelname)s %(name)s %(message)s"
    )
    # aiortc's REMB handling would move the bitrate within [0.5, 3] Mbit/s: pin it.
    from aiortc.codecs import h264

    h264.DEFAULT_BITRATE = h264.MIN_BITRATE = h264.MAX_BITRATE = args.bitrate * 1000

    runner = ModelRunner(load_model_class(args.model))
    server = Server(runner, args.bitrate)
    host, _, port = args.listen.rpartition(":")
    http = await asyncio.start_server(
        lambda r, w: handle_http(server, r, w), host or "127.0.0.1", int(port)
    )
    bound = http.sockets[0].getsockname()[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(f"{bound}\n")
        os.replace(args.port_file + ".tmp", args.port_file)
    log.info(
        "listening on http://%s:%d (model %s, %d kbit/s)", host, bound, args.model, args.bitrate
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with http:
        await stop.wait()
    await server.end_current()
    runner.pool.shutdown(wait=False, cancel_futures=True)


if __name__ == "__main__":
    asyncio.run(main())
