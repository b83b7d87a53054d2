"""The baseline's numpy marker drawing against spec/vectors/frame_marker.json: drawn on the
case's field, each clean sequence case is the very picture the vector paints, and a drawn
marker reads back (by the reader of the spec, ported below) on frames of both orientations.

    bench/model/.venv/bin/python -m unittest bench/model/test_marker.py
"""

import json
import math
import pathlib
import sys
import unittest

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from aiortc_baseline import draw_marker, marker_blocks, marker_check_bits

VECTORS = json.loads(
    (pathlib.Path(__file__).resolve().parents[2] / "spec/vectors/frame_marker.json").read_text()
)["cases"]


def paint(v) -> np.ndarray:
    rgb = np.empty((v["height"], v["width"], 3), dtype=np.uint8)
    rgb[:, :] = v["fill"]
    for r in v["rects"]:
        rgb[r["y"] : r["y"] + r["h"], r["x"] : r["x"] + r["w"]] = r["rgb"]
    return rgb


def decode(rgb: np.ndarray, scale: float = 1.0):
    """The reader of ithaca/media/frame_marker.hpp ("Reading"), for the round trip."""

    def at(v):
        return math.floor(v * scale + 0.5)

    height, width = rgb.shape[:2]
    levels = []
    for i in range(22):
        x0, x1, y0, y1 = at(32 * i + 8), at(32 * i + 24), at(4), at(12)
        if x1 > width or y1 > height or x1 <= x0 or y1 <= y0:
            return None
        b = rgb[y0:y1, x0:x1].astype(np.int32)
        levels.append(float(((77 * b[..., 0] + 150 * b[..., 1] + 29 * b[..., 2]) >> 8).mean()))
    white, black = levels[0], levels[1]
    if white - black < 64:
        return None
    threshold, margin = (white + black) / 2, (white - black) / 4
    bits = []
    for level in levels[2:]:
        if abs(level - threshold) < margin:
            return None
        bits.append(int(level > threshold))
    seq = int("".join(map(str, bits[:16])), 2)
    return seq if int("".join(map(str, bits[16:])), 2) == marker_check_bits(seq) else None


class MarkerTest(unittest.TestCase):
    def test_the_reader_passes_every_vector(self):
        self.assertGreaterEqual(len(VECTORS), 20)
        for v in VECTORS:
            with self.subTest(v["id"]):
                self.assertEqual(decode(paint(v), v["scale"]), v["expect"])

    def test_drawn_is_the_vectors_picture(self):
        cases = [v for v in VECTORS if v["id"].startswith("sequence-")]
        self.assertGreaterEqual(len(cases), 6)
        for v in cases:
            with self.subTest(v["id"]):
                rgb = np.empty((v["height"], v["width"], 3), dtype=np.uint8)
                rgb[:, :] = v["fill"]
                self.assertTrue(draw_marker(rgb, v["expect"]))
                np.testing.assert_array_equal(rgb, paint(v))

    def test_blocks_follow_the_vector_rects(self):
        for v in (v for v in VECTORS if v["id"].startswith("sequence-")):
            white = [r["rgb"] == [255, 255, 255] for r in v["rects"]]
            self.assertEqual(marker_blocks(v["expect"]), white, v["id"])

    def test_round_trip_on_both_orientations(self):
        for w, h in ((1280, 704), (704, 1280)):
            for seq in (0, 1, 0x1234, 0xFFFF, 40000):
                rgb = np.full((h, w, 3), 77, dtype=np.uint8)
                self.assertTrue(draw_marker(rgb, seq))
                self.assertEqual(decode(rgb), seq)
                self.assertTrue((rgb[16:] == 77).all(), "only the strip is drawn")
                self.assertTrue((rgb[:, 704:] == 77).all(), "only the strip is drawn")

    def test_too_small_a_frame_is_left_alone(self):
        rgb = np.zeros((16, 703, 3), dtype=np.uint8)
        self.assertFalse(draw_marker(rgb, 5))
        self.assertFalse(rgb.any())


if __name__ == "__main__":
    unittest.main()
