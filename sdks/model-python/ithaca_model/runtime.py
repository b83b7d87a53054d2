"""The worker loop: single process, single thread (docs/model-workers.md sections 1 and 3).

Poll the socket with a timeout, send a heartbeat at least once a second when idle, drain every
pending message before a step, coalesce interacts per lane, call the model, copy its frames into
free slots. A protocol error is logged and ends the process with exit code 2.
"""

import array
import logging
import mmap
import os
import select
import socket
import sys
import time
from collections import deque

import numpy as np

from . import frames as framing
from .logs import StreamerHandler, truncate
from .model import BatchedModel, Context, Model, Session
from .protocol import MAX_PACKET, PROTOCOL_VERSION, ProtocolError, decode, encode
from .ring import Ring

HEARTBEAT_S = 0.5
MAX_ERROR_BYTES = 1024
EXIT_PROTOCOL = 2
_FD = array.array("i")
log = logging.getLogger("ithaca_model")


class Shutdown(Exception):
    """The streamer said shutdown or closed the socket."""


class _Single:
    """A Model seen through the batched interface (one lane)."""

    def __init__(self, model: Model, with_params: bool):
        self.model = model
        self.with_params = with_params

    def start(self, session, prompt, portrait, image, **params):
        return self.model.start(prompt, portrait, image, **params)

    def interact(self, session, prompt):
        return self.model.interact(prompt)

    def next_frames(self, sessions):
        return [self.model.next_frames()]

    def end(self, session):
        self.model.end()


def _error_text(e: BaseException) -> str:
    return truncate(str(e) or type(e).__name__, MAX_ERROR_BYTES)


def _recv(sock: socket.socket) -> tuple[bytes, list[int], int]:
    """One packet and its file descriptors, without waiting (socket.recv_fds drops its flags
    argument in Python 3.11, so it would block)."""
    data, ancillary, flags, _ = sock.recvmsg(
        MAX_PACKET + 1,
        socket.CMSG_SPACE(2 * _FD.itemsize),
        socket.MSG_DONTWAIT | socket.MSG_CMSG_CLOEXEC,
    )
    fds = array.array("i")
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % _FD.itemsize])
    return data, list(fds), flags


class _Lane:
    def __init__(self, session: Session, sequence: int):
        self.session = session
        self.sequence = sequence


class Worker:
    def __init__(self, cls, sock: socket.socket, args: list[str], worker_id: int):
        self.sock = sock
        self.model = cls()
        self.caps = self.model.capabilities
        if isinstance(self.model, BatchedModel):
            self.batched = self.model
        elif isinstance(self.model, Model):
            if self.caps.max_sessions != 1:
                raise TypeError("a Model serves one session: use BatchedModel for max_sessions > 1")
            self.batched = _Single(self.model, bool(self.caps.params))
        else:
            raise TypeError(f"{cls.__name__} is not an ithaca_model.Model or BatchedModel")
        self.args = args
        self.worker_id = worker_id
        self.ring: Ring | None = None
        self.lanes: dict[int, _Lane] = {}
        self.backlog: deque = deque()  # (name, payload, fds) received while a step was writing
        self.pending: dict[int, list[dict]] = {}  # coalesced interacts per lane, oldest first
        self.last_heartbeat = 0.0

    # --- the socket ---

    def send(self, name: str, payload: dict | None = None) -> None:
        self.sock.sendall(encode(name, payload))

    def heartbeat_due(self) -> float:
        """Seconds until the next heartbeat; sends it first when it is due."""
        now = time.monotonic()
        if now - self.last_heartbeat >= HEARTBEAT_S:
            self.send("heartbeat")
            self.last_heartbeat = now
        return max(0.0, self.last_heartbeat + HEARTBEAT_S - now)

    def receive(self, timeout: float) -> list[tuple[str, dict, list[int]]]:
        """Every message pending now, waiting up to `timeout` for the first one."""
        ready, _, _ = select.select([self.sock], [], [], timeout)
        out = []
        if not ready:
            return out
        while True:
            try:
                data, fds, flags = _recv(self.sock)
            except BlockingIOError:
                return out
            if not data and not fds:
                if self.peer_closed():
                    raise Shutdown("the streamer closed the socket")
                raise ProtocolError("short packet: 0 bytes")
            if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC):
                for fd in fds:
                    os.close(fd)
                raise ProtocolError("packet or its file descriptors were truncated")
            try:
                name, payload = decode(data)
            except ProtocolError:
                for fd in fds:
                    os.close(fd)
                raise
            out.append((name, payload, fds))

    def peer_closed(self) -> bool:
        """After an empty read: the streamer's end is closed (else it sent an empty packet)."""
        poller = select.poll()
        poller.register(self.sock, select.POLLRDHUP)
        return any(events & (select.POLLHUP | select.POLLRDHUP) for _, events in poller.poll(0))

    # --- the life of the worker ---

    def hello(self) -> None:
        caps = self.caps
        fmt = {
            orientation: {"width": w, "height": h, "fps": caps.fps}
            for orientation, (w, h) in (("landscape", caps.landscape), ("portrait", caps.portrait))
        }
        self.send(
            "hello",
            {
                "protocol": PROTOCOL_VERSION,
                "model": {
                    "name": type(self.model).name or type(self.model).__name__,
                    "version": str(type(self.model).version),
                },
                "max_sessions": caps.max_sessions,
                "image_to_video": caps.image_to_video,
                "formats": fmt,
                "params": {key: p.describe() for key, p in caps.params.items()},
            },
        )

    def load(self) -> bool:
        ctx = Context(self.worker_id, list(self.args), logging.getLogger("ithaca_model.model"))
        try:
            self.model.load(ctx)
        except Exception as e:
            log.exception("load failed")
            self.send("failed", {"op": "load", "kind": "model_error", "message": _error_text(e)})
            return False
        return True

    def wait_for_ring(self) -> None:
        while self.ring is None:
            for name, payload, fds in self.receive(self.heartbeat_due()):
                if self.ring is None and name == "ring":
                    self.on_ring(payload, fds)
                elif self.ring is not None:
                    self.backlog.append((name, payload, fds))  # came with the ring
                elif name == "shutdown":
                    raise Shutdown("shutdown")
                else:
                    self.close_fds(fds)
                    raise ProtocolError(f"{name} before ring")

    def on_ring(self, payload: dict, fds: list[int]) -> None:
        if len(fds) != 1:
            self.close_fds(fds)
            raise ProtocolError(f"ring with {len(fds)} file descriptors, 1 expected")
        largest = max(w * h * 3 for w, h in (self.caps.landscape, self.caps.portrait))
        if payload["slot_bytes"] < largest:
            os.close(fds[0])
            raise ProtocolError(f"ring slot_bytes {payload['slot_bytes']} < frame size {largest}")
        try:
            self.ring = Ring(fds[0], payload["slots"], payload["slot_bytes"])
        except (ValueError, OSError) as e:
            raise ProtocolError(f"ring: {e}") from None
        finally:
            os.close(fds[0])

    def run(self, attach_logs=lambda: None) -> None:
        self.hello()
        attach_logs()  # log messages only after hello, which comes first
        if not self.load():
            raise SystemExit(1)
        self.wait_for_ring()
        self.send("ready")
        log.info("ready: %s", type(self.model).__name__)
        while True:
            messages = list(self.backlog)
            self.backlog.clear()
            messages += self.receive(0 if messages else self.heartbeat_due())
            steps = []
            for name, payload, fds in messages:
                if name == "step":
                    steps.append(payload["lanes"])
                else:
                    self.handle(name, payload, fds)
            self.apply_interacts()
            for lanes in steps:
                self.step(lanes)
            self.heartbeat_due()

    @staticmethod
    def close_fds(fds: list[int]) -> None:
        for fd in fds:
            os.close(fd)

    def check_lane(self, name: str, lane: int) -> None:
        if lane >= self.caps.max_sessions:
            raise ProtocolError(f"{name}: lane {lane} but max_sessions is {self.caps.max_sessions}")

    def handle(self, name: str, payload: dict, fds: list[int]) -> None:
        if name != "start" and fds:
            self.close_fds(fds)
            raise ProtocolError(f"{name} came with file descriptors")
        if name == "start":
            self.apply_interacts(payload["lane"])
            self.on_start(payload, fds)
        elif name == "interact":
            self.check_lane(name, payload["lane"])
            self.pending.setdefault(payload["lane"], []).append(payload)
        elif name == "end":
            self.check_lane(name, payload["lane"])
            self.apply_interacts(payload["lane"])
            self.on_end(payload["lane"])
        elif name == "release":
            self.on_release(payload["slot"])
        elif name == "shutdown":
            raise Shutdown("shutdown")
        else:
            raise ProtocolError(f"{name} is not a message to a worker here")

    def on_release(self, slot: int) -> None:
        try:
            self.ring.release(slot)
        except ValueError as e:
            raise ProtocolError(str(e)) from None

    def read_image(self, payload: dict, fds: list[int]):
        image = payload.get("image")
        if image is None:
            if fds:
                self.close_fds(fds)
                raise ProtocolError("start without image came with a file descriptor")
            return None
        if len(fds) != 1:
            self.close_fds(fds)
            raise ProtocolError(f"start with image came with {len(fds)} file descriptors")
        width, height = image["width"], image["height"]
        try:
            size = width * height * 3
            if size == 0 or os.fstat(fds[0]).st_size < size:
                raise ProtocolError(f"start image memfd holds fewer than {width}x{height}x3 bytes")
            with mmap.mmap(fds[0], size, mmap.MAP_SHARED, mmap.PROT_READ) as view:
                return np.frombuffer(view, np.uint8, size).reshape(height, width, 3).copy()
        except (OSError, ValueError, OverflowError) as e:
            raise ProtocolError(f"start image: {e}") from None
        finally:
            os.close(fds[0])

    def on_start(self, payload: dict, fds: list[int]) -> None:
        lane = payload["lane"]
        if lane >= self.caps.max_sessions:
            self.close_fds(fds)
            self.check_lane("start", lane)
        if lane in self.lanes:
            self.close_fds(fds)
            raise ProtocolError(f"start on lane {lane}, whose stream has not ended")
        image = self.read_image(payload, fds)
        session = Session(lane, payload["portrait"])
        kwargs = {"params": dict(payload["params"])} if self.caps.params else {}
        try:
            prompt = payload["prompt"]
            applied = self.batched.start(session, prompt, session.portrait, image, **kwargs)
        except Exception as e:
            log.exception("start failed on lane %d", lane)
            self.send(
                "failed",
                {"lane": lane, "op": "start", "kind": "model_error", "message": _error_text(e)},
            )
            return
        self.lanes[lane] = _Lane(session, payload["sequence"])
        prompt = payload["prompt"] if applied is None else str(applied)
        self.send("started", {"lane": lane, "prompt": prompt})

    def apply_interacts(self, only: int | None = None) -> None:
        """Each lane's newest pending prompt goes to the model; every interact is answered."""
        for lane in [only] if only is not None else sorted(self.pending):
            requests = self.pending.pop(lane, None)
            if not requests:
                continue
            newest = requests[-1]
            state = self.lanes.get(lane)
            try:
                if state is None:
                    raise RuntimeError(f"no stream on lane {lane}")
                applied = self.batched.interact(state.session, newest["prompt"])
            except Exception as e:
                if state is not None:
                    log.exception("interact failed on lane %d", lane)
                failed = {"lane": lane, "op": "interact", "kind": "model_error"}
                for _ in requests:
                    self.send("failed", {**failed, "message": _error_text(e)})
                continue
            state.sequence = newest["sequence"]
            prompt = newest["prompt"] if applied is None else str(applied)
            for request in requests:
                self.send(
                    "interacted", {"lane": lane, "prompt": prompt, "sequence": request["sequence"]}
                )

    def on_end(self, lane: int) -> None:
        state = self.lanes.pop(lane, None)
        if state is not None:
            try:
                self.batched.end(state.session)
            except Exception:
                log.exception("end raised on lane %d", lane)
        self.send("ended", {"lane": lane})

    def fail_step(self, lane: int, kind: str, message: str) -> None:
        """The lane's stream is over: tell the streamer, let the model forget the session."""
        state = self.lanes.pop(lane)
        self.send("failed", {"lane": lane, "op": "step", "kind": kind, "message": message})
        try:
            self.batched.end(state.session)
        except Exception:
            log.exception("end raised on lane %d after a failed step", lane)

    def step(self, lanes: list[int]) -> None:
        for lane in lanes:
            self.check_lane("step", lane)
        lanes = [lane for lane in dict.fromkeys(lanes) if lane in self.lanes]
        if not lanes:
            return
        states = [self.lanes[lane] for lane in lanes]
        sequences = [state.sequence for state in states]
        try:
            outputs = self.batched.next_frames([state.session for state in states])
            if not isinstance(outputs, list | tuple) or len(outputs) != len(lanes):
                got = (
                    f"{len(outputs)}"
                    if isinstance(outputs, list | tuple)
                    else f"a {type(outputs).__name__}"
                )
                raise framing.BadOutput(f"expected a list of {len(lanes)} outputs, got {got}")
        except framing.BadOutput as e:
            for lane in lanes:
                self.fail_step(lane, "bad_output", _error_text(e))
            return
        except Exception as e:
            log.exception("next_frames failed")
            for lane in lanes:
                self.fail_step(lane, "model_error", _error_text(e))
            return
        for lane, state, sequence, output in zip(lanes, states, sequences, outputs, strict=True):
            width, height = self.caps.size(state.session.portrait)
            try:
                chunk = [framing.prepare(f, height, width) for f in framing.split(output)]
            except Exception as e:
                self.fail_step(lane, "bad_output", _error_text(e))
                continue
            for i, frame in enumerate(chunk):
                slot = self.free_slot()
                framing.copy_into(self.ring.view(slot, height, width), frame)
                self.send(
                    "frame",
                    {
                        "lane": lane,
                        "slot": slot,
                        "sequence": sequence,
                        "width": width,
                        "height": height,
                        "last": i == len(chunk) - 1,
                    },
                )

    def free_slot(self) -> int:
        """A free slot; waits for a `release` (keeping heartbeats) when every slot is out."""
        while (slot := self.ring.take()) is None:
            for name, payload, fds in self.receive(self.heartbeat_due()):
                if name == "release":
                    self.on_release(payload["slot"])
                elif name == "shutdown":
                    raise Shutdown("shutdown")
                else:
                    self.backlog.append((name, payload, fds))
        return slot


def serve(cls, args: list[str] | None = None) -> None:
    """Run `cls` as a worker on the socket in ITHACA_WORKER_FD; never returns. `args` (default:
    the script's command-line arguments) become ctx.args."""
    raise SystemExit(run(cls, sys.argv[1:] if args is None else args))


def run(cls, args: list[str]) -> int:
    """The worker's exit code: 0 after shutdown, 1 when the model failed to load, 2 on a
    protocol error."""
    fd_text = os.environ.get("ITHACA_WORKER_FD")
    if not fd_text or not fd_text.isdigit():
        logging.basicConfig()
        log.error("ITHACA_WORKER_FD is not set: a worker is started by `ithaca streamer`")
        return EXIT_PROTOCOL
    sock = socket.socket(fileno=int(fd_text))
    handler = StreamerHandler(lambda name, payload: sock.sendall(encode(name, payload)))
    stderr = logging.StreamHandler()
    root = logging.getLogger()
    root.addHandler(stderr)
    root.setLevel(os.environ.get("ITHACA_LOG_LEVEL", "INFO").upper())
    try:
        worker = Worker(cls, sock, args, int(os.environ.get("ITHACA_WORKER_ID", "0") or 0))
        # Once hello is out, records go to the streamer as log messages instead of stderr.
        worker.run(lambda: (root.removeHandler(stderr), root.addHandler(handler)))
    except Shutdown as e:
        log.debug("exit: %s", e)
        return 0
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 1
    except ProtocolError as e:
        log.error("protocol error, exiting: %s", e)
        return EXIT_PROTOCOL
    except (BrokenPipeError, ConnectionError) as e:
        root.removeHandler(handler)
        root.addHandler(stderr)
        log.error("the streamer's socket is gone: %s", e)
        return 0
    finally:
        root.removeHandler(handler)
        root.addHandler(stderr)
    return 0
