"""onnx_world: a stand-in generative network (UNTRAINED, seeded weights) run with ONNX Runtime.

One real CPU inference per frame: the prompt's hash -> a conditioning vector, the frame's time ->
a time vector, the network -> a 640x352 RGB image (portrait: the same image transposed, 352x640).
The weights are random from a fixed seed (make_weights.py), so the pictures are moving abstract
texture that changes with the prompt, not a trained world model. Loads the file given as the
first extra argument, never downloads anything:

    python examples/models/onnx_world/make_weights.py /tmp/onnx_world.onnx
    python -m ithaca_model examples.models.onnx_world.world:OnnxWorld /tmp/onnx_world.onnx
"""

import hashlib
import os
from pathlib import Path

import ithaca_model
import numpy as np

CONDITION = 16
TIME = 16


def conditioning(prompt: str) -> np.ndarray:
    """The prompt's SHA-256 as 16 floats in [-1, 1]."""
    digest = np.frombuffer(hashlib.sha256(prompt.encode()).digest()[:CONDITION], np.uint8)
    return (digest.astype(np.float32) / 127.5 - 1.0)[None, :]


def time_vector(seconds: float) -> np.ndarray:
    """Sines and cosines of the frame's time at eight slow frequencies."""
    freqs = 2 * np.pi * 0.1 * np.arange(1, TIME // 2 + 1, dtype=np.float32)
    phase = np.float32(seconds) * freqs
    return np.concatenate([np.sin(phase), np.cos(phase)]).astype(np.float32)[None, :]


class OnnxWorld(ithaca_model.Model):
    name = "onnx-world"
    version = "0-untrained"
    capabilities = ithaca_model.Capabilities(landscape=(640, 352), portrait=(352, 640), fps=30)

    def load(self, ctx):
        import onnxruntime as ort

        if not ctx.args:
            raise ValueError("onnx_world needs the weights path: make it with make_weights.py")
        path = Path(ctx.args[0])
        if not path.is_file():
            raise FileNotFoundError(f"no weights at {path}: run make_weights.py {path}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(os.environ.get("ONNX_WORLD_THREADS", "2"))
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        ctx.log.info("onnx_world: loaded %s (untrained stand-in weights)", path)
        self.infer(conditioning("warm up"), 0.0)

    def infer(self, cond: np.ndarray, seconds: float) -> np.ndarray:
        (image,) = self.session.run(["image"], {"cond": cond, "time": time_vector(seconds)})
        return image[0]

    def start(self, prompt, portrait, image):
        self.portrait = portrait
        self.t = 0
        return self.interact(prompt)

    def interact(self, prompt):
        self.cond = conditioning(prompt)
        return prompt

    def next_frames(self):
        image = self.infer(self.cond, self.t / self.capabilities.fps)
        self.t += 1
        return image.transpose(1, 0, 2) if self.portrait else image
