import hashlib
import logging
import subprocess
import sys

import numpy as np
import pytest
from streamer import REPO

from ithaca_model import Context


def test_stepping_template_runs(worker):
    w = worker("examples.models.stepping_template:SteppingWorld")
    assert w.handshake()["model"]["name"] == "stepping-template"
    w.start(prompt="a tide pool")
    (f,) = w.step_frames()
    assert f["pixels"][3, 3].tolist() == list(hashlib.sha256(b"a tide pool").digest()[:3])


def test_stepping_template_as_a_script_with_serve(worker):
    script = REPO / "examples/models/stepping_template.py"
    w = worker("", command=[sys.executable, str(script), "extra-arg"])
    assert w.handshake()["model"] == {"name": "stepping-template", "version": "0"}
    w.start(prompt="by serve", portrait=True)
    (f,) = w.step_frames()
    assert (f["width"], f["height"]) == (704, 1280)
    assert f["pixels"][3, 3].tolist() == list(hashlib.sha256(b"by serve").digest()[:3])


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    path = tmp_path_factory.mktemp("onnx_world") / "weights.onnx"
    script = REPO / "examples/models/onnx_world/make_weights.py"
    subprocess.run([sys.executable, str(script), str(path)], check=True)
    return path


def test_onnx_world_weights_are_deterministic(weights, tmp_path):
    again = tmp_path / "again.onnx"
    script = REPO / "examples/models/onnx_world/make_weights.py"
    subprocess.run([sys.executable, str(script), str(again)], check=True)
    assert again.read_bytes() == weights.read_bytes()


def test_onnx_world_real_inference_in_process(weights):
    import onnxruntime as ort
    from examples.models.onnx_world.world import OnnxWorld, conditioning, time_vector

    model = OnnxWorld()
    model.load(Context(0, [str(weights)], logging.getLogger("test")))
    model.start("a fox", False, None)
    first, second = model.next_frames(), model.next_frames()
    assert first.shape == (352, 640, 3) and first.dtype == np.uint8
    assert first.std() > 10  # a picture, not a flat colour
    assert (first != second).mean() > 0.1  # it moves with time
    # the same as running the network directly on the same inputs
    session = ort.InferenceSession(str(weights), providers=["CPUExecutionProvider"])
    (direct,) = session.run(None, {"cond": conditioning("a fox"), "time": time_vector(1 / 30)})
    assert np.array_equal(direct[0], second)
    model.interact("a lighthouse")
    other = model.next_frames()
    assert np.abs(other.astype(int) - first.astype(int)).mean() > 5  # the prompt matters
    model.start("a fox", True, None)
    assert np.array_equal(model.next_frames(), first.transpose(1, 0, 2))


def test_onnx_world_through_the_worker(worker, weights):
    from examples.models.onnx_world.world import OnnxWorld

    w = worker("examples.models.onnx_world.world:OnnxWorld", str(weights))
    hello = w.handshake()
    assert hello["formats"]["landscape"] == {"width": 640, "height": 352, "fps": 30}
    w.start(prompt="a fox")
    frames = [w.step_frames()[0] for _ in range(2)]
    model = OnnxWorld()
    model.load(Context(0, [str(weights)], logging.getLogger("test")))
    model.start("a fox", False, None)
    for f in frames:
        assert (f["width"], f["height"]) == (640, 352)
        assert np.array_equal(f["pixels"], model.next_frames())


def test_onnx_world_without_weights_fails_load(worker, tmp_path):
    w = worker("examples.models.onnx_world.world:OnnxWorld", str(tmp_path / "missing.onnx"))
    w.expect("hello")
    failed = w.expect("failed")
    assert failed["op"] == "load" and "no weights at" in failed["message"]
    assert w.proc.wait(10) == 1
