"""Packets of the worker protocol, version 1: the 8-byte header, the JSON payload, the type table.

docs/model-workers.md section 3 is the contract; spec/vectors/model_protocol.json checks it.
"""

import json
import struct

PROTOCOL_VERSION = 1
HEADER = struct.Struct("<HHI")  # type, flags, payload length
MAX_PACKET = 65536

# Worker -> streamer.
WORKER_MESSAGES = {
    "hello": 1,
    "ready": 2,
    "started": 3,
    "interacted": 4,
    "frame": 5,
    "failed": 6,
    "log": 7,
    "heartbeat": 8,
    "ended": 9,
}
# Streamer -> worker.
STREAMER_MESSAGES = {
    "ring": 101,
    "start": 102,
    "interact": 103,
    "end": 104,
    "step": 105,
    "release": 106,
    "shutdown": 107,
}
TYPES = {**WORKER_MESSAGES, **STREAMER_MESSAGES}
NAMES = {number: name for name, number in TYPES.items()}

# Required fields of each payload and their JSON kinds; optional ones are checked when present.
_FIELDS: dict[str, dict[str, str]] = {
    "hello": {
        "protocol": "int",
        "model": "object",
        "max_sessions": "int",
        "image_to_video": "bool",
        "formats": "object",
        "params": "object",
    },
    "ready": {},
    "started": {"lane": "int", "prompt": "str"},
    "interacted": {"lane": "int", "prompt": "str", "sequence": "int"},
    "frame": {
        "lane": "int",
        "slot": "int",
        "sequence": "int",
        "width": "int",
        "height": "int",
        "last": "bool",
    },
    "failed": {"op": "str", "kind": "str", "message": "str"},
    "log": {"level": "str", "message": "str"},
    "heartbeat": {},
    "ended": {"lane": "int"},
    "ring": {"slots": "int", "slot_bytes": "int"},
    "start": {
        "lane": "int",
        "prompt": "str",
        "portrait": "bool",
        "sequence": "int",
        "params": "object",
    },
    "interact": {"lane": "int", "prompt": "str", "sequence": "int"},
    "end": {"lane": "int"},
    "step": {"lanes": "list"},
    "release": {"slot": "int"},
    "shutdown": {},
}
_OPTIONAL: dict[str, dict[str, str]] = {
    "failed": {"lane": "int"},
    "start": {"image": "object"},
}


class ProtocolError(Exception):
    """A packet that breaks section 3 of docs/model-workers.md."""


def _is(kind: str, value: object) -> bool:
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "list":
        return isinstance(value, list)
    raise AssertionError(kind)


def check_fields(name: str, payload: dict) -> None:
    """Raise ProtocolError unless `payload` has the fields of message `name`."""
    for key, kind in _FIELDS[name].items():
        if key not in payload:
            raise ProtocolError(f"{name}: missing field {key!r}")
        if not _is(kind, payload[key]):
            raise ProtocolError(f"{name}: field {key!r} is not a {kind}: {payload[key]!r}")
    for key, kind in _OPTIONAL.get(name, {}).items():
        if key in payload and not _is(kind, payload[key]):
            raise ProtocolError(f"{name}: field {key!r} is not a {kind}: {payload[key]!r}")
    if name == "step" and not all(_is("int", lane) for lane in payload["lanes"]):
        raise ProtocolError(f"step: lanes are not all lane numbers: {payload['lanes']!r}")
    if name == "start" and "image" in payload:
        image = payload["image"]
        if not (_is("int", image.get("width")) and _is("int", image.get("height"))):
            raise ProtocolError(f"start: image needs width and height: {image!r}")


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def encode(name: str, payload: dict | None = None) -> bytes:
    """One packet: header + compact JSON. Checks the fields, so a bad message is never sent."""
    payload = {} if payload is None else payload
    if name not in TYPES:
        raise ProtocolError(f"unknown message {name!r}")
    check_fields(name, payload)
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    packet = HEADER.pack(TYPES[name], 0, len(body)) + body
    if len(packet) > MAX_PACKET:
        raise ProtocolError(f"{name}: packet of {len(packet)} bytes is over {MAX_PACKET}")
    return packet


def decode(packet: bytes) -> tuple[str, dict]:
    """(message name, payload) of one packet, or ProtocolError."""
    if len(packet) < HEADER.size:
        raise ProtocolError(f"short packet: {len(packet)} bytes")
    if len(packet) > MAX_PACKET:
        raise ProtocolError(f"packet of {len(packet)} bytes is over {MAX_PACKET}")
    number, flags, length = HEADER.unpack_from(packet)
    if flags != 0:
        raise ProtocolError(f"flags {flags:#06x} are not 0")
    if length != len(packet) - HEADER.size:
        raise ProtocolError(f"payload length {length} but {len(packet) - HEADER.size} bytes follow")
    name = NAMES.get(number)
    if name is None:
        raise ProtocolError(f"unknown message type {number}")
    try:
        payload = json.loads(packet[HEADER.size :].decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ProtocolError(f"{name}: payload is not JSON: {e}") from None
    if not isinstance(payload, dict):
        raise ProtocolError(f"{name}: payload is not a JSON object")
    check_fields(name, payload)
    return name, payload
