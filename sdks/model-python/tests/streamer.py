"""A fake streamer for the tests: the socket pair, the ring memfd, the worker as a subprocess."""

import contextlib
import mmap
import os
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from ithaca_model.protocol import decode, encode

REPO = Path(__file__).resolve().parents[3]


class FakeStreamer:
    def __init__(self, spec: str, *args: str, env: dict | None = None, command=None):
        """Runs `python -m ithaca_model spec args...`, or `command` (a list) when given."""
        self.sock, worker_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        environment = {**os.environ, "ITHACA_WORKER_FD": str(worker_end.fileno()), **(env or {})}
        environment["PYTHONPATH"] = os.pathsep.join(
            [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        self.proc = subprocess.Popen(
            command or [sys.executable, "-m", "ithaca_model", spec, *args],
            cwd=REPO,
            env=environment,
            pass_fds=[worker_end.fileno()],
            stderr=subprocess.PIPE,
        )
        worker_end.close()
        self.logs: list[dict] = []
        self.heartbeats = 0
        self.ring = None
        self.slot_bytes = 0

    # --- packets ---

    def send(self, name: str, payload: dict | None = None, fds: list[int] | None = None) -> None:
        packet = encode(name, payload)
        if fds:
            socket.send_fds(self.sock, [packet], fds)
        else:
            self.sock.send(packet)

    def send_raw(self, packet: bytes) -> None:
        self.sock.send(packet)

    def recv_any(self, timeout: float = 10.0):
        """The next packet, heartbeats and logs included: (name, payload), or None on timeout."""
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            return None
        data = self.sock.recv(70000)
        if not data:
            raise EOFError("the worker closed its socket")
        return decode(data)

    def recv(self, timeout: float = 10.0):
        """The next packet that is not a heartbeat or a log (those are counted and kept)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            got = self.recv_any(max(0.0, left))
            if got is None:
                return None
            name, payload = got
            if name == "heartbeat":
                self.heartbeats += 1
            elif name == "log":
                self.logs.append(payload)
            else:
                return got

    def expect(self, name: str, timeout: float = 10.0) -> dict:
        got = self.recv(timeout)
        assert got is not None, f"no {name} within {timeout} s; logs: {self.logs}"
        assert got[0] == name, f"expected {name}, got {got}; logs: {self.logs}"
        return got[1]

    # --- the conversation ---

    def handshake(self, slots: int | None = None, timeout: float = 30.0) -> dict:
        hello = self.expect("hello", timeout)
        slots = slots or 4 * hello["max_sessions"]
        self.slot_bytes = max(f["width"] * f["height"] * 3 for f in hello["formats"].values())
        fd = os.memfd_create("ithaca-ring")
        os.ftruncate(fd, slots * self.slot_bytes)
        self.ring = mmap.mmap(fd, slots * self.slot_bytes)
        self.send("ring", {"slots": slots, "slot_bytes": self.slot_bytes}, [fd])
        os.close(fd)
        self.expect("ready", timeout)
        return hello

    def start(self, lane=0, prompt="a prompt", portrait=False, sequence=1, params=None) -> dict:
        payload = {
            "lane": lane,
            "prompt": prompt,
            "portrait": portrait,
            "sequence": sequence,
            "params": params or {},
        }
        self.send("start", payload)
        return self.recv()

    def pixels(self, frame: dict) -> np.ndarray:
        """A copy of the frame a `frame` message names."""
        count = frame["width"] * frame["height"] * 3
        start = frame["slot"] * self.slot_bytes
        data = np.frombuffer(self.ring, np.uint8, count, start).copy()
        return data.reshape(frame["height"], frame["width"], 3)

    def step_frames(self, lanes=(0,), release=True, timeout=10.0, expect=None) -> list[dict]:
        """Ask for a step; every frame message up to `last` of each lane in `expect` (default:
        the lanes asked for), each released unless told."""
        self.send("step", {"lanes": list(lanes)})
        frames, open_lanes = [], set(lanes if expect is None else expect)
        while open_lanes:
            got = self.recv(timeout)
            seen = [{k: v for k, v in f.items() if k != "pixels"} for f in frames]
            assert got is not None, f"step of {lanes}: timed out after {seen}; logs {self.logs}"
            name, payload = got
            assert name == "frame", f"expected frame, got {got}; logs {self.logs}"
            payload["pixels"] = self.pixels(payload)
            frames.append(payload)
            if release:
                self.send("release", {"slot": payload["slot"]})
            if payload["last"]:
                open_lanes.discard(payload["lane"])
        return frames

    def close(self, timeout: float = 5.0) -> int:
        """Shut the worker down: its exit code."""
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                self.send("shutdown")
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.sock.close()
        if self.proc.stderr:
            self.proc.stderr.close()
        return code
