import json
from pathlib import Path

import pytest

from ithaca_model.protocol import NAMES, TYPES, ProtocolError, decode, encode

VECTORS = json.loads(
    (Path(__file__).resolve().parents[3] / "spec/vectors/model_protocol.json").read_text()
)


def test_every_message_type_has_a_vector():
    assert {p["message"] for p in VECTORS["packets"]} == set(TYPES)
    assert all(TYPES[p["message"]] == p["type"] for p in VECTORS["packets"])
    assert {p["type"] for p in VECTORS["packets"]} == set(NAMES)


@pytest.mark.parametrize("case", VECTORS["packets"], ids=lambda c: c["name"])
def test_packet_decodes_and_encodes_back(case):
    raw = bytes.fromhex(case["hex"])
    assert int.from_bytes(raw[:2], "little") == case["type"]
    name, payload = decode(raw)
    assert name == case["message"]
    assert payload == case["payload"]
    assert encode(name, payload) == raw
    assert encode(case["message"], case["payload"]) == raw


@pytest.mark.parametrize("case", VECTORS["invalid"], ids=lambda c: c["name"])
def test_invalid_packet_is_refused(case):
    with pytest.raises(ProtocolError):
        decode(bytes.fromhex(case["hex"]))
