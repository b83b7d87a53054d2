"""spec/vectors/frame_marker.json: every case's picture, painted as an RGB frame, decodes to the
sequence number it expects (or to None)."""

import numpy as np
import pytest
from conftest import load_json

from ithaca.marker import decode_marker

VECTORS = load_json("vectors/frame_marker.json")["cases"]


def paint(v) -> np.ndarray:
    rgb = np.empty((v["height"], v["width"], 3), dtype=np.uint8)
    rgb[:, :] = v["fill"]
    for r in v["rects"]:
        rgb[r["y"] : r["y"] + r["h"], r["x"] : r["x"] + r["w"]] = r["rgb"]
    return rgb


def test_vectors_present():
    assert len(VECTORS) >= 20
    assert any(v["expect"] is None for v in VECTORS)


@pytest.mark.parametrize("v", VECTORS, ids=[v["id"] for v in VECTORS])
def test_vector(v):
    assert decode_marker(paint(v), v["scale"]) == v["expect"]


def test_default_scale_follows_the_orientation():
    landscape = next(v for v in VECTORS if v["id"] == "scale-0.5")
    # 352 wide and landscape: the default scale is 352 / 1280, not the 0.5 it was drawn at.
    assert decode_marker(paint(landscape)) is None
    full = next(v for v in VECTORS if v["id"] == "on-a-full-frame")
    assert decode_marker(paint(full)) == full["expect"]
