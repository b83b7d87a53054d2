"""Generates spec/vectors/model_protocol.json, the model worker protocol's packets (version 1).

The protocol is docs/model-workers.md section 3. Standard library only, deterministic:

    python3 spec/vectors/make_model_protocol.py > spec/vectors/model_protocol.json

sdks/model-python/tests/test_vectors.py decodes every packet, re-encodes it to the same bytes and
refuses every invalid one. Edit this script to add a case, rerun it, and commit both files.
"""

import json
import struct
import sys

TYPES = {
    "hello": 1,
    "ready": 2,
    "started": 3,
    "interacted": 4,
    "frame": 5,
    "failed": 6,
    "log": 7,
    "heartbeat": 8,
    "ended": 9,
    "ring": 101,
    "start": 102,
    "interact": 103,
    "end": 104,
    "step": 105,
    "release": 106,
    "shutdown": 107,
}

HELLO = {
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

PACKETS = [
    ("hello", "hello", HELLO),
    (
        "hello with params, batched, image to video",
        "hello",
        {
            **HELLO,
            "model": {"name": "my-world", "version": "1.0"},
            "max_sessions": 4,
            "image_to_video": True,
            "params": {
                "seed": {"type": "integer", "minimum": 0, "maximum": 2147483647},
                "guidance": {"type": "number", "minimum": 0, "maximum": 20},
                "style": {"type": "string", "max_length": 64},
                "loop": {"type": "boolean"},
            },
        },
    ),
    ("ready", "ready", {}),
    ("started", "started", {"lane": 0, "prompt": "a red fox in the snow"}),
    (
        "started, non-ASCII prompt as raw UTF-8",
        "started",
        {"lane": 2, "prompt": "café ☕"},
    ),
    ("interacted", "interacted", {"lane": 0, "prompt": "a blue fox", "sequence": 7}),
    (
        "frame, not the last of its step",
        "frame",
        {
            "lane": 0,
            "slot": 3,
            "sequence": 7,
            "width": 1280,
            "height": 704,
            "last": False,
        },
    ),
    (
        "frame, last, portrait",
        "frame",
        {
            "lane": 1,
            "slot": 0,
            "sequence": 12,
            "width": 704,
            "height": 1280,
            "last": True,
        },
    ),
    (
        "failed start",
        "failed",
        {
            "lane": 0,
            "op": "start",
            "kind": "model_error",
            "message": "the model refuses: boom",
        },
    ),
    (
        "failed step, bad output",
        "failed",
        {
            "lane": 0,
            "op": "step",
            "kind": "bad_output",
            "message": "expected a 704x1280x3 uint8 frame (height x width x 3), "
            "got shape (100, 100, 3) uint8",
        },
    ),
    (
        "failed load, no lane",
        "failed",
        {"op": "load", "kind": "model_error", "message": "weights not found"},
    ),
    ("log", "log", {"level": "info", "message": "ithaca_model: ready: RgbWorld"}),
    ("log, warning", "log", {"level": "warning", "message": "slow step: 180 ms"}),
    ("heartbeat", "heartbeat", {}),
    ("ended", "ended", {"lane": 0}),
    ("ring", "ring", {"slots": 4, "slot_bytes": 2703360}),
    (
        "start",
        "start",
        {
            "lane": 0,
            "prompt": "a red fox",
            "portrait": False,
            "sequence": 1,
            "params": {},
        },
    ),
    (
        "start with params and an image (the image fd rides along as SCM_RIGHTS)",
        "start",
        {
            "lane": 3,
            "prompt": "a lighthouse",
            "portrait": True,
            "sequence": 42,
            "params": {"seed": 7, "guidance": 2.5},
            "image": {"width": 512, "height": 512},
        },
    ),
    ("interact", "interact", {"lane": 0, "prompt": "a blue fox", "sequence": 2}),
    ("end", "end", {"lane": 0}),
    ("step", "step", {"lanes": [0]}),
    ("step, batched", "step", {"lanes": [0, 1, 3]}),
    ("release", "release", {"slot": 3}),
    ("shutdown", "shutdown", {}),
]


def packet(number, body, flags=0, length=None):
    return (
        struct.pack("<HHI", number, flags, len(body) if length is None else length)
        + body
    )


def compact(payload):
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


INVALID = [
    ("empty", b"", "short packet: no header"),
    (
        "short header",
        bytes.fromhex("0800000000"),
        "short packet: 5 bytes, the header is 8",
    ),
    (
        "length too large",
        packet(8, b"{}", length=3),
        "length 3 but 2 payload bytes follow",
    ),
    (
        "length too small",
        packet(8, b"{}", length=1),
        "length 1 but 2 payload bytes follow",
    ),
    ("unknown type 0", packet(0, b"{}"), "type 0 is not in the table"),
    ("unknown type 10", packet(10, b"{}"), "type 10 is not in the table"),
    ("unknown type 108", packet(108, b"{}"), "type 108 is not in the table"),
    ("payload an array", packet(105, b"[0]"), "the payload is not a JSON object"),
    ("payload a number", packet(8, b"1"), "the payload is not a JSON object"),
    (
        "payload empty",
        packet(8, b""),
        "the payload is not JSON ({} when there is nothing)",
    ),
    ("payload not JSON", packet(8, b"{lane:0}"), "the payload is not JSON"),
    ("NaN is not JSON", packet(104, b'{"lane":NaN}'), "NaN and Infinity are not JSON"),
    ("nested too deep", packet(8, b"[" * 2000), "not JSON (and far too deep)"),
    ("payload not UTF-8", packet(7, b'{"level":"info","message":"\xff"}'), "not UTF-8"),
    ("flags non-zero", packet(8, b"{}", flags=1), "flags must be 0 in version 1"),
    (
        "flags high bit",
        packet(105, compact({"lanes": [0]}), flags=0x8000),
        "flags must be 0",
    ),
    ("step without lanes", packet(105, b"{}"), "a required field is missing"),
    (
        "release without slot",
        packet(106, compact({"lane": 0})),
        "a required field is missing",
    ),
    ("lane a string", packet(104, compact({"lane": "0"})), "lane is not an integer"),
    (
        "lane negative",
        packet(104, compact({"lane": -1})),
        "lane is not a non-negative integer",
    ),
    ("lane a boolean", packet(104, compact({"lane": True})), "lane is not an integer"),
    (
        "portrait not a boolean",
        packet(
            102,
            compact(
                {"lane": 0, "prompt": "p", "portrait": 0, "sequence": 1, "params": {}}
            ),
        ),
        "portrait is not a boolean",
    ),
    (
        "start without params",
        packet(
            102, compact({"lane": 0, "prompt": "p", "portrait": False, "sequence": 1})
        ),
        "params is required ({} when none)",
    ),
    (
        "frame without last",
        packet(
            5,
            compact(
                {"lane": 0, "slot": 0, "sequence": 1, "width": 1280, "height": 704}
            ),
        ),
        "a required field is missing",
    ),
    (
        "step lanes not numbers",
        packet(105, compact({"lanes": ["a"]})),
        "lanes are not lanes",
    ),
]


def main():
    out = {
        "about": "Packets of the model worker protocol, version 1 (docs/model-workers.md section "
        "3): an 8-byte header (type u16 LE, flags u16 LE = 0, payload length u32 LE) then a "
        "UTF-8 JSON object, written compact (separators ',' and ':', no spaces, non-ASCII as raw "
        "UTF-8) with keys in the order given. A reader decodes every `packets` hex to its type "
        "and payload; a writer makes the same bytes; every `invalid` hex is refused (a protocol "
        "error). Generated by make_model_protocol.py.",
        "packets": [
            {
                "name": name,
                "type": TYPES[message],
                "message": message,
                "payload": payload,
                "hex": packet(TYPES[message], compact(payload)).hex(),
            }
            for name, message, payload in PACKETS
        ],
        "invalid": [
            {"name": name, "hex": raw.hex(), "why": why} for name, raw, why in INVALID
        ],
    }
    assert {p["message"] for p in out["packets"]} == set(TYPES)
    json.dump(out, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
