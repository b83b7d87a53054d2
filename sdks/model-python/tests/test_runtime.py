import hashlib
import itertools
import os
import struct
import time

import numpy as np
import pytest

RGB = "tests.models.rgb_world:RgbWorld"


def colour(prompt):
    return list(hashlib.sha256(prompt.encode()).digest()[:3])


def test_handshake_hello_ring_ready(worker):
    w = worker(RGB)
    hello = w.handshake()
    assert hello == {
        "protocol": 1,
        "model": {"name": "rgb-world", "version": "1"},
        "max_sessions": 1,
        "image_to_video": False,
        "formats": {
            "landscape": {"width": 1280, "height": 704, "fps": 30},
            "portrait": {"width": 704, "height": 1280, "fps": 30},
        },
        "params": {},
    }
    assert w.close() == 0


def test_start_step_frame_release_end(worker):
    w = worker(RGB)
    w.handshake()
    assert w.start(prompt="a red fox", sequence=5) == (
        "started",
        {"lane": 0, "prompt": "a red fox"},
    )
    first = w.step_frames()
    second = w.step_frames()
    assert len(first) == len(second) == 1
    f = first[0]
    assert {k: f[k] for k in ("lane", "sequence", "width", "height", "last")} == {
        "lane": 0,
        "sequence": 5,
        "width": 1280,
        "height": 704,
        "last": True,
    }
    assert f["pixels"][0, 0].tolist() == colour("a red fox")
    assert f["pixels"][703 - 32, 1279].tolist() == colour("a red fox")
    # the gradient at the bottom moves 8 pixels a frame
    assert f["pixels"][-1, 100].tolist() == [100] * 3
    assert second[0]["pixels"][-1, 108].tolist() == [100] * 3
    w.send("end", {"lane": 0})
    assert w.expect("ended") == {"lane": 0}
    assert w.close() == 0


def test_portrait_and_interact(worker):
    w = worker(RGB)
    w.handshake()
    w.start(prompt="one", portrait=True, sequence=1)
    (f,) = w.step_frames()
    assert (f["width"], f["height"]) == (704, 1280)
    assert f["pixels"].shape == (1280, 704, 3)
    w.send("interact", {"lane": 0, "prompt": "two", "sequence": 2})
    assert w.expect("interacted") == {"lane": 0, "prompt": "two", "sequence": 2}
    (f,) = w.step_frames()
    assert f["sequence"] == 2
    assert f["pixels"][5, 5].tolist() == colour("two")


def test_interacts_coalesce_newest_wins(worker):
    w = worker(RGB)
    w.handshake()
    w.start(prompt="zero", sequence=1)
    for seq, prompt in ((2, "a"), (3, "b"), (4, "c")):
        w.send("interact", {"lane": 0, "prompt": prompt, "sequence": seq})
    w.send("step", {"lanes": [0]})
    # every interact answered with the prompt that was applied, before the step's frame
    got = [w.recv() for _ in range(4)]
    assert got[:3] == [
        ("interacted", {"lane": 0, "prompt": "c", "sequence": 2}),
        ("interacted", {"lane": 0, "prompt": "c", "sequence": 3}),
        ("interacted", {"lane": 0, "prompt": "c", "sequence": 4}),
    ]
    name, f = got[3]
    assert name == "frame" and f["sequence"] == 4 and f["last"]
    assert w.pixels(f)[0, 0].tolist() == colour("c")


def test_chunk_of_four(worker):
    w = worker("tests.models.chunked_world:ChunkedWorld")
    w.handshake()
    w.start(prompt="chunky")
    frames = w.step_frames()
    assert [f["last"] for f in frames] == [False, False, False, True]
    assert len({f["slot"] for f in frames}) == 4
    assert [f["pixels"][-1, -1, 0] for f in frames] == [0, 60, 120, 180]
    assert all(f["pixels"][1, 1].tolist() == colour("chunky") for f in frames)


def test_backpressure_waits_for_release(worker):
    w = worker("tests.models.chunked_world:ChunkedWorld")
    w.handshake(slots=2)
    w.start(prompt="p")
    w.send("step", {"lanes": [0]})
    a = w.expect("frame")
    b = w.expect("frame")
    assert {a["slot"], b["slot"]} == {0, 1}
    # both slots are out: nothing more until a release, heartbeats meanwhile
    assert w.recv(timeout=1.5) is None
    assert w.heartbeats >= 2
    w.send("release", {"slot": a["slot"]})
    c = w.expect("frame")
    assert c["slot"] == a["slot"] and not c["last"]
    assert w.pixels(c)[-1, -1, 0] == 120
    w.send("release", {"slot": b["slot"]})
    d = w.expect("frame")
    assert d["slot"] == b["slot"] and d["last"]
    assert w.pixels(d)[-1, -1, 0] == 180


def test_heartbeat_when_idle(worker):
    w = worker(RGB)
    w.handshake()
    beats = []
    deadline = time.monotonic() + 2.6
    while time.monotonic() < deadline:
        got = w.recv_any(timeout=max(0.0, deadline - time.monotonic()))
        if got and got[0] == "heartbeat":
            beats.append(time.monotonic())
    assert len(beats) >= 3
    assert max(b - a for a, b in itertools.pairwise(beats)) < 1.0


def test_exception_in_start_and_interact(worker):
    w = worker("tests.models.raising_world:RaisingWorld")
    w.handshake()
    assert w.start(prompt="boom now") == (
        "failed",
        {"lane": 0, "op": "start", "kind": "model_error", "message": "the model refuses: boom now"},
    )
    assert w.start(prompt="calm")[0] == "started"
    w.send("interact", {"lane": 0, "prompt": "boom again", "sequence": 9})
    assert w.expect("failed") == {
        "lane": 0,
        "op": "interact",
        "kind": "model_error",
        "message": "the model refuses: boom again",
    }
    (f,) = w.step_frames()
    assert f["sequence"] == 1  # kept its old prompt
    assert any("the model refuses" in log["message"] for log in w.logs)


def test_exception_in_next_frames_ends_the_lane(worker):
    w = worker("tests.models.raising_world:RaisingWorld")
    w.handshake()
    w.start(prompt="crash-step please")
    w.send("step", {"lanes": [0]})
    assert w.expect("failed") == {
        "lane": 0,
        "op": "step",
        "kind": "model_error",
        "message": "the model crashed stepping: crash-step please",
    }
    # the worker goes on: the lane can start again
    w.send("end", {"lane": 0})
    assert w.expect("ended") == {"lane": 0}
    assert w.start(prompt="fine")[0] == "started"
    assert len(w.step_frames()) == 1


def test_bad_output_names_expected_and_got(worker):
    w = worker("tests.models.bad_shape_world:BadShapeWorld")
    w.handshake()
    w.start(prompt="bad frame")
    w.send("step", {"lanes": [0]})
    failed = w.expect("failed")
    assert failed["op"] == "step" and failed["kind"] == "bad_output" and failed["lane"] == 0
    assert "704x1280x3" in failed["message"] and "(100, 100, 3)" in failed["message"]
    assert w.start(prompt="good")[0] == "started"
    assert len(w.step_frames()) == 1


def test_batched_four_lanes(worker):
    w = worker("tests.models.batched_world:BatchedWorld")
    hello = w.handshake()
    assert hello["max_sessions"] == 4
    prompts = ["north", "south", "east", "west"]
    for lane, prompt in enumerate(prompts):
        assert w.start(lane, prompt, portrait=lane == 3, sequence=10 + lane)[0] == "started"
    frames = w.step_frames(lanes=[0, 1, 2, 3])
    assert sorted(f["lane"] for f in frames) == [0, 1, 2, 3]
    for f in frames:
        assert f["sequence"] == 10 + f["lane"]
        assert f["pixels"][7, 7].tolist() == colour(prompts[f["lane"]])
        assert (f["width"], f["height"]) == ((704, 1280) if f["lane"] == 3 else (1280, 704))
    w.send("end", {"lane": 1})
    assert w.expect("ended") == {"lane": 1}
    frames = w.step_frames(lanes=[0, 2])
    assert sorted(f["lane"] for f in frames) == [0, 2]
    # lane 1 ended: listed anyway, it is skipped
    frames = w.step_frames(lanes=[1, 3], expect=[3])
    assert [f["lane"] for f in frames] == [3]


def test_params_reach_start(worker):
    w = worker("tests.models.params_world:ParamsWorld")
    hello = w.handshake()
    assert hello["params"] == {
        "seed": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
        "guidance": {"type": "number", "minimum": 0, "maximum": 20},
    }
    w.start(prompt="p", params={"seed": 300, "guidance": 2.5})
    (f,) = w.step_frames()
    assert f["pixels"][0, 0].tolist() == [300 % 256, 25, 7]


def test_start_with_image(worker, tmp_path):
    (tmp_path / "img_world.py").write_text(
        "import numpy as np\nimport ithaca_model\n"
        "class ImgWorld(ithaca_model.Model):\n"
        "    capabilities = ithaca_model.Capabilities(landscape=(64, 32), portrait=(32, 64),"
        " image_to_video=True)\n"
        "    def start(self, prompt, portrait, image):\n"
        "        self.f = np.zeros((32, 64, 3), np.uint8)\n"
        "        self.f[:2, :3] = image\n"
        "        return prompt\n"
        "    def next_frames(self):\n"
        "        return self.f\n"
    )
    w = worker(f"{tmp_path / 'img_world.py'}:ImgWorld")
    assert w.handshake()["image_to_video"] is True
    image = np.arange(18, dtype=np.uint8).reshape(2, 3, 3)
    fd = os.memfd_create("image")
    os.write(fd, image.tobytes())
    payload = {"lane": 0, "prompt": "i", "portrait": False, "sequence": 1, "params": {}}
    w.send("start", {**payload, "image": {"width": 3, "height": 2}}, [fd])
    os.close(fd)
    assert w.expect("started") == {"lane": 0, "prompt": "i"}
    (f,) = w.step_frames()
    assert f["pixels"][:2, :3].tolist() == image.tolist()


class _DeviceFrame:
    """Claims to live on a CUDA device (DLPack device type 2)."""

    def __dlpack_device__(self):
        return (2, 0)

    def __dlpack__(self, stream=None):
        raise RuntimeError("not really on a device")


def test_cuda_frame_without_torch_is_bad_output():
    from ithaca_model import frames

    try:
        import torch  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("torch is installed: the torch-free path is not the one taken")
    with pytest.raises(frames.BadOutput, match="torch is not installed"):
        frames.prepare(_DeviceFrame(), 704, 1280)


def test_cuda_tensor_copied_with_torch():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    from ithaca_model import frames

    tensor = torch.full((4, 6, 3), 9, dtype=torch.uint8, device="cuda")
    destination = np.zeros((4, 6, 3), np.uint8)
    frames.copy_into(destination, frames.prepare(tensor, 4, 6))
    assert (destination == 9).all()


def test_frames_accept_array_and_dlpack():
    from ithaca_model import frames

    class HasArray:
        def __array__(self, dtype=None, copy=None):
            return np.full((2, 4, 3), 5, np.uint8)

    destination = np.zeros((2, 4, 3), np.uint8)
    frames.copy_into(destination, frames.prepare(HasArray(), 2, 4))
    assert (destination == 5).all()
    frames.copy_into(destination, frames.prepare(np.full((2, 4, 3), 6, np.uint8), 2, 4))
    assert (destination == 6).all()

    class HasDlpack:  # a CPU tensor of some other library
        def __init__(self, array):
            self.array = array

        def __dlpack__(self, **kwargs):
            return self.array.__dlpack__(**kwargs)

        def __dlpack_device__(self):
            return self.array.__dlpack_device__()

    strided = np.arange(2 * 8 * 3, dtype=np.uint8).reshape(2, 8, 3)[:, ::2]
    frames.copy_into(destination, frames.prepare(HasDlpack(strided), 2, 4))
    assert destination.tolist() == strided.tolist()
    with pytest.raises(frames.BadOutput, match=r"got shape \(2, 8, 3\)"):
        frames.prepare(HasDlpack(np.zeros((2, 8, 3), np.uint8)), 2, 4)
    with pytest.raises(frames.BadOutput, match=r"expected a 2x4x3 uint8 .*float32"):
        frames.prepare(np.zeros((2, 4, 3), np.float32), 2, 4)


@pytest.mark.parametrize(
    "packet",
    [
        b"",  # empty
        b"\x01\x00",  # short
        struct.pack("<HHI", 103, 0, 99) + b"{}",  # length mismatch
        struct.pack("<HHI", 999, 0, 2) + b"{}",  # unknown type
        struct.pack("<HHI", 105, 0, 2) + b"[]",  # not an object
        struct.pack("<HHI", 105, 1, 2) + b"{}",  # flags
        struct.pack("<HHI", 105, 0, 2) + b"{}",  # step without lanes
        struct.pack("<HHI", 1, 0, 2) + b"{}",  # a worker's message sent to the worker
        struct.pack("<HHI", 106, 0, 12) + b'{"slot":999}',  # no such slot
        struct.pack("<HHI", 104, 0, 10) + b'{"lane":9}',  # lane over max_sessions
        struct.pack("<HHI", 8, 0, 60000) + b"[" * 60000,  # far too deep
    ],
)
def test_malformed_message_exits_non_zero(worker, packet):
    w = worker(RGB)
    w.handshake()
    w.send_raw(packet)
    assert w.proc.wait(10) != 0


def test_release_of_free_slot_is_protocol_error(worker):
    w = worker(RGB)
    w.handshake()
    w.send("release", {"slot": 0})
    assert w.proc.wait(10) == 2


def test_streamer_gone_exits_zero(worker):
    w = worker(RGB)
    w.handshake()
    w.sock.close()
    assert w.proc.wait(10) == 0


def test_shutdown_exits_zero(worker):
    w = worker(RGB)
    w.handshake()
    w.send("shutdown")
    assert w.proc.wait(10) == 0


def test_hung_model_sends_nothing(worker):
    w = worker("tests.models.hung_world:HungWorld")
    w.handshake()
    w.start(prompt="hang here")
    w.send("step", {"lanes": [0]})
    time.sleep(0.3)
    w.heartbeats = 0
    assert w.recv(timeout=1.5) is None
    assert w.heartbeats == 0  # no heartbeat while the model's call runs
    w.proc.kill()


def test_slow_world_runs_at_its_own_rate(worker):
    w = worker("tests.models.slow_world:SlowWorld")
    assert w.handshake()["formats"]["landscape"]["fps"] == 30
    w.start()
    begin = time.monotonic()
    for _ in range(5):
        w.step_frames()
    assert time.monotonic() - begin >= 0.5


def test_interact_after_failed_step_is_answered_failed(worker):
    w = worker("tests.models.raising_world:RaisingWorld")
    w.handshake()
    w.start(prompt="crash-step")
    w.send("step", {"lanes": [0]})
    assert w.expect("failed")["op"] == "step"
    w.send("interact", {"lane": 0, "prompt": "late", "sequence": 3})
    failed = w.expect("failed")
    assert failed["op"] == "interact" and "no stream on lane 0" in failed["message"]


def test_end_while_waiting_for_a_slot(worker):
    w = worker("tests.models.chunked_world:ChunkedWorld")
    w.handshake(slots=1)
    w.start(prompt="p")
    w.send("step", {"lanes": [0]})
    first = w.expect("frame")
    w.send("end", {"lane": 0})  # handled after the step
    for i in range(1, 4):
        w.send("release", {"slot": first["slot"]})
        f = w.expect("frame")
        assert w.pixels(f)[-1, -1, 0] == 60 * i and f["last"] == (i == 3)
    assert w.expect("ended") == {"lane": 0}


def test_message_before_ring_is_protocol_error(worker):
    w = worker(RGB)
    w.expect("hello")
    w.send("step", {"lanes": [0]})
    assert w.proc.wait(10) == 2


def test_ring_too_small_is_protocol_error(worker):
    w = worker(RGB)
    w.expect("hello")
    fd = os.memfd_create("small")
    os.ftruncate(fd, 1000)
    w.send("ring", {"slots": 4, "slot_bytes": 250}, [fd])
    os.close(fd)
    assert w.proc.wait(10) == 2


def test_worker_without_fd_exits_non_zero():
    import subprocess
    import sys

    from streamer import REPO

    env = {k: v for k, v in os.environ.items() if k != "ITHACA_WORKER_FD"}
    done = subprocess.run(
        [sys.executable, "-m", "ithaca_model", "tests.models.rgb_world:RgbWorld"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "ITHACA_WORKER_FD is not set" in done.stderr
