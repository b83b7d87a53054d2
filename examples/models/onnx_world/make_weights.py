"""Builds the onnx_world stand-in network and saves it: python make_weights.py PATH.

A small generator (matmul+tanh, then four transposed convolutions, a resize) from a 16-float
prompt vector and a 16-float time vector to a 352x640 RGB uint8 image. Its weights are UNTRAINED:
drawn from a fixed numpy seed, so the file is the same every time and the pictures are abstract
texture, not a world. It stands in for a real model to exercise real ONNX Runtime inference.
Needs numpy and onnx (the `dev` extra of sdks/model-python).
"""

import itertools
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SEED = 20260
CONDITION = 16  # floats from the prompt's hash
TIME = 16  # floats from the frame's time
BASE = (16, 11, 20)  # channels, height, width before upsampling (x16 -> 352 x 640)
CHANNELS = (16, 16, 8, 8, 3)  # through the four transposed convolutions


def build(seed: int = SEED) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    inits, nodes = [], []

    def weight(name, shape, fan_in, gain=1.5):
        array = (rng.standard_normal(shape) * gain / np.sqrt(fan_in)).astype(np.float32)
        inits.append(numpy_helper.from_array(array, name))
        return name

    hidden = 256
    flat = int(np.prod(BASE))
    nodes.append(helper.make_node("Concat", ["cond", "time"], ["x0"], axis=1))
    w1 = weight("w1", (CONDITION + TIME, hidden), CONDITION + TIME)
    b1 = weight("b1", (hidden,), 1, 0.1)
    nodes += [
        helper.make_node("MatMul", ["x0", w1], ["m1"]),
        helper.make_node("Add", ["m1", b1], ["a1"]),
        helper.make_node("Tanh", ["a1"], ["h1"]),
    ]
    w2 = weight("w2", (hidden, flat), hidden)
    b2 = weight("b2", (flat,), 1, 0.1)
    inits.append(numpy_helper.from_array(np.array((1, *BASE), np.int64), "base_shape"))
    nodes += [
        helper.make_node("MatMul", ["h1", w2], ["m2"]),
        helper.make_node("Add", ["m2", b2], ["a2"]),
        helper.make_node("Tanh", ["a2"], ["h2"]),
        helper.make_node("Reshape", ["h2", "base_shape"], ["c0"]),
    ]
    previous = "c0"
    for i, (cin, cout) in enumerate(itertools.pairwise(CHANNELS)):
        w = weight(f"up{i}_w", (cin, cout, 4, 4), cin * 4, 2.0)
        b = weight(f"up{i}_b", (cout,), 1, 0.2)
        out = f"up{i}"
        nodes.append(
            helper.make_node(
                "ConvTranspose",
                [previous, w, b],
                [out],
                strides=[2, 2],
                pads=[1, 1, 1, 1],
            )
        )
        if i < len(CHANNELS) - 2:
            nodes.append(helper.make_node("Tanh", [out], [out + "_t"]))
            out += "_t"
        previous = out
    inits.append(numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales"))
    inits.append(numpy_helper.from_array(np.array(255, np.float32), "full"))
    nodes += [
        helper.make_node("Resize", [previous, "", "scales"], ["big"], mode="linear"),
        helper.make_node("Sigmoid", ["big"], ["unit"]),
        helper.make_node("Mul", ["unit", "full"], ["scaled"]),
        helper.make_node("Transpose", ["scaled"], ["hwc"], perm=[0, 2, 3, 1]),
        helper.make_node("Cast", ["hwc"], ["image"], to=TensorProto.UINT8),
    ]
    height, width = BASE[1] * 32, BASE[2] * 32
    graph = helper.make_graph(
        nodes,
        "onnx_world_stand_in",
        [
            helper.make_tensor_value_info("cond", TensorProto.FLOAT, [1, CONDITION]),
            helper.make_tensor_value_info("time", TensorProto.FLOAT, [1, TIME]),
        ],
        [helper.make_tensor_value_info("image", TensorProto.UINT8, [1, height, width, 3])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    onnx.save(build(), sys.argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
