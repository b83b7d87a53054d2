"""Generates spec/vectors/frame_marker.json, the shared frame marker vectors (README.md here).

The marker's layout and reading rules are in ithaca/media/frame_marker.hpp. Standard library
only, deterministic:

    python3 spec/vectors/make_frame_marker.py > spec/vectors/frame_marker.json

C++ (ithaca/media/frame_marker_test.cpp) and Python (sdks/python/tests/test_marker.py) paint
each case's picture and decode it. None of them runs this script. Edit it to add a case, rerun
it, and commit both files.
"""

import json
import math
import sys

WHITE = [255, 255, 255]
BLACK = [0, 0, 0]


def rnd(v):
    """Half up, as the readers round a scaled coordinate."""
    return math.floor(v + 0.5)


def check_bits(s):
    return (s ^ (s >> 4) ^ (s >> 8) ^ (s >> 12) ^ 0xA) & 0xF


def blocks(sequence, check=None):
    """The 22 block values, True = white: references, 16 sequence bits, 4 check bits."""
    c = check_bits(sequence) if check is None else check
    return (
        [True, False]
        + [bool(sequence >> (15 - b) & 1) for b in range(16)]
        + [bool(c >> (3 - b) & 1) for b in range(4)]
    )


def rect(x, y, w, h, rgb):
    return {"x": x, "y": y, "w": w, "h": h, "rgb": list(rgb)}


def marker(sequence, scale=1.0, white=WHITE, black=BLACK, check=None):
    """The marker as drawn, then scaled: block i covers x in [32 i k, 32 (i + 1) k), y in
    [0, 16 k), each end rounded."""
    out = []
    for i, on in enumerate(blocks(sequence, check)):
        x0, x1 = rnd(32 * i * scale), rnd(32 * (i + 1) * scale)
        out.append(rect(x0, 0, x1 - x0, rnd(16 * scale), white if on else black))
    return out


def grey(v):
    return [v, v, v]


GREY = grey(128)
CASES = []


def case(id, description, expect, rects, width=704, height=16, scale=1.0, fill=GREY):
    CASES.append(
        {
            "id": id,
            "description": description,
            "width": width,
            "height": height,
            "scale": scale,
            "fill": fill,
            "rects": rects,
            "expect": expect,
        }
    )


# --- reads ----------------------------------------------------------------------------------------

for s in (0x0000, 0x0001, 0x1234, 0x8000, 0xA5A5, 0xFFFF):
    case(f"sequence-{s:04x}", f"sequence {s:#06x} at scale 1 on a grey field", s, marker(s))
case(
    "limited-range-levels",
    "white Y 235 and black Y 16 read as RGB without range expansion",
    0x5A5A,
    marker(0x5A5A, white=grey(235), black=grey(16)),
)
case(
    "on-a-full-frame",
    "a 1280x720 frame, the rest of it white",
    0x0F0F,
    marker(0x0F0F),
    width=1280,
    height=720,
    fill=WHITE,
)
case("scale-0.5", "a frame decoded at half size", 0x00FF, marker(0x00FF, 0.5), 352, 8, 0.5)
case("scale-2", "a frame decoded at twice the size", 0xFFFE, marker(0xFFFE, 2.0), 1408, 32, 2.0)
case("scale-1.5", "a frame decoded at 1920 wide", 0x8001, marker(0x8001, 1.5), 1056, 24, 1.5)

# At scale 0.625 (800 wide) the sampled rows are [round(2.5), round(7.5)) = [3, 8): half up.
# Row 2 is black in every bit block, and bit-1 blocks are 200 below it: read from row 3 they are 1s;
# a reader that rounded 2.5 to even (2) would average the black row in and find them ambiguous.
rects = []
for i, on in enumerate(blocks(0x1234)):
    x0, x1 = rnd(20 * i), rnd(20 * (i + 1))
    level = WHITE if i == 0 else grey(200) if on else BLACK
    rects.append(rect(x0, 0, x1 - x0, 10, level))
    if i >= 2:
        rects.append(rect(x0, 2, x1 - x0, 1, BLACK))
case(
    "scale-0.625-rounds-half-up",
    "coordinates are rounded half up: rows 3 to 7 are sampled, not row 2",
    0x1234,
    rects,
    440,
    10,
    0.625,
)

case(
    "contrast-64",
    "white - black = 64, the least accepted",
    0x3C3C,
    marker(0x3C3C, white=grey(200), black=grey(136)),
)
case(
    "luma-weights",
    "luma is (77 R + 150 G + 29 B) >> 8: yellow (226) reads 1 and blue (28) reads 0, though "
    "their plain means (170, 85) would be ambiguous",
    0xA5A5,
    [marker(0xA5A5)[0], marker(0xA5A5)[1]]
    + marker(0xA5A5, white=[255, 255, 0], black=[0, 0, 255])[2:],
)
rects = []
for i, on in enumerate(blocks(0xC0DE)):
    rects += [
        rect(32 * i, 0, 32, 16, BLACK if on else WHITE),
        rect(32 * i + 8, 4, 16, 8, WHITE if on else BLACK),
    ]
case(
    "centre-only",
    "each block is the wrong colour outside its sampled centre x in [32i + 8, 32i + 24), "
    "y in [4, 12)",
    0xC0DE,
    rects,
)
tight = marker(0x1234, white=grey(235), black=grey(16))
tight[2] = dict(tight[2], rgb=grey(70))
case(
    "level-just-outside-the-margin",
    "threshold 125.5, margin 54.75: a 0 bit at level 70 (55.5 away) still reads",
    0x1234,
    tight,
)
case("width-696", "the last block's centre ends at x = 696", 0x1234, marker(0x1234), width=696)
case("height-12", "the centres end at y = 12", 0x1234, marker(0x1234), height=12)

# --- refusals -------------------------------------------------------------------------------------

case("flat-grey", "no marker: a flat field", None, [])
case("flat-white", "no marker: a white field", None, [], fill=WHITE)
case(
    "contrast-63",
    "white - black = 63: too little contrast",
    None,
    marker(0x3C3C, white=grey(200), black=grey(137)),
)
case(
    "inverted",
    "the whole marker inverted: the white reference is darker than the black one",
    None,
    marker(0x1234, white=BLACK, black=WHITE),
)
case(
    "check-bits-wrong",
    "sequence 0x1234 with its last check bit flipped",
    None,
    marker(0x1234, check=check_bits(0x1234) ^ 1),
)
ambiguous = marker(0x1234, white=grey(235), black=grey(16))
ambiguous[2] = dict(ambiguous[2], rgb=grey(71))
case(
    "level-within-the-margin",
    "threshold 125.5, margin 54.75 (real arithmetic, no rounding): a block at 71 (54.5 away) is "
    "ambiguous",
    None,
    ambiguous,
)
case(
    "luma-weights-green",
    "green (luma 149) for the 1 bits is within the margin of the threshold",
    None,
    [marker(0xA5A5)[0], marker(0xA5A5)[1]]
    + marker(0xA5A5, white=[0, 255, 0], black=[0, 0, 255])[2:],
)
case("width-695", "the last block's centre does not fit", None, marker(0x1234), width=695)
case("height-11", "the centres do not fit", None, marker(0x1234), height=11)
case(
    "scale-too-small",
    "at scale 0.03 the sampled rows [round(0.12), round(0.36)) are empty: no marker",
    None,
    marker(0x1234, 0.03),
    22,
    1,
    0.03,
)

doc = {
    "about": "Frame marker vectors (layout and reading: ithaca/media/frame_marker.hpp). Paint "
    "each case: a width x height RGB picture of fill, then each rect in order (clipped to the "
    "picture); decode it with scale; expect is the sequence number, or null for no marker. "
    "Generated by spec/vectors/make_frame_marker.py; do not edit by hand.",
    "cases": CASES,
}
ids = [c["id"] for c in CASES]
assert len(ids) == len(set(ids)), "case ids must be unique"


def dumps(v):
    return json.dumps(v, ensure_ascii=False)


# One line per rect, so a case reads at a glance and the file stays small.
out = ["{", f'  "about": {dumps(doc["about"])},', '  "cases": [']
for n, c in enumerate(CASES):
    fields = [f'    {{ "id": {dumps(c["id"])},', f'      "description": {dumps(c["description"])},']
    fields.append(
        f'      "width": {c["width"]}, "height": {c["height"]}, "scale": {dumps(c["scale"])}, '
        f'"fill": {dumps(c["fill"])}, "expect": {dumps(c["expect"])},'
    )
    rects = ",\n".join(f"        {dumps(r)}" for r in c["rects"])
    fields.append('      "rects": [' + (f"\n{rects}\n      ]" if rects else "]") + " }")
    out.append("\n".join(fields) + ("," if n + 1 < len(CASES) else ""))
out += ["  ]", "}"]
sys.stdout.write("\n".join(out) + "\n")
