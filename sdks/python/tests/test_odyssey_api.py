"""This SDK against the official Python SDK's public API (tests/odyssey_api.json, written down
from odyssey 1.3.0's source), and the README's migration table against both: a name the
official SDK has and ours lacks, or a table row naming something ours lacks, fails here."""

from __future__ import annotations

import base64
import dataclasses
import inspect
import json
import re
from pathlib import Path

import numpy as np
import pytest

import ithaca

HERE = Path(__file__).parent
API = json.loads((HERE / "odyssey_api.json").read_text())
README = (HERE.parent / "README.md").read_text()
GAPS = API["known_gaps"]

# `from odyssey import X` becomes `from ithaca import X`, and Odyssey.x is Ithaca.x.
OFFICIAL_TO_OURS_ROOT = {"Odyssey": "Ithaca"}


def resolve(dotted: str) -> object:
    """ithaca.<dotted>: a module attribute, then class attributes (dataclass fields included)."""
    head, *rest = dotted.split(".")
    obj = getattr(ithaca, head)
    for part in rest:
        if hasattr(obj, part):
            obj = getattr(obj, part)
        elif dataclasses.is_dataclass(obj) and part in {f.name for f in dataclasses.fields(obj)}:
            obj = dataclasses.MISSING  # a field without a default: present, no class attribute
        else:
            raise AttributeError(f"ithaca.{dotted}: no {part!r}")
    return obj


def parameters(obj: object) -> list[inspect.Parameter]:
    """The parameters a caller passes (a method looked up on its class loses ``self``)."""
    params = list(inspect.signature(obj).parameters.values())
    return params[1:] if params and params[0].name == "self" else params


def parameter_names(obj: object) -> list[str]:
    return [p.name for p in parameters(obj) if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


@pytest.mark.parametrize("name", API["names"])
def test_every_official_name_exists(name):
    assert hasattr(ithaca, name), f"ithaca has no {name} (from odyssey import {name})"
    if name != "__version__":
        assert name in ithaca.__all__, f"{name} is not in ithaca.__all__"


@pytest.mark.parametrize(("child", "parent"), API["subclasses"].items())
def test_error_hierarchy(child, parent):
    assert issubclass(getattr(ithaca, child), getattr(ithaca, parent))


@pytest.mark.parametrize(("dotted", "official"), API["parameters"].items())
def test_parameters_match_in_order(dotted, official):
    ours = parameter_names(resolve(dotted))
    assert ours[: len(official)] == official, f"{dotted}: ours {ours}, official {official}"
    extra = parameters(resolve(dotted))[len(official) :]
    required = [p.name for p in extra if p.default is p.empty and p.kind != p.VAR_KEYWORD]
    assert not required, f"{dotted}: our extra parameters {required} need defaults"


@pytest.mark.parametrize(("dotted", "keywords"), API["keywords"].items())
def test_keyword_arguments_are_taken(dotted, keywords):
    assert set(keywords) <= set(parameter_names(resolve(dotted)))


@pytest.mark.parametrize("dotted", API["coroutines"])
def test_coroutines_stay_coroutines(dotted):
    assert inspect.iscoroutinefunction(resolve(dotted)), f"{dotted} must be async"


@pytest.mark.parametrize(
    ("cls", "prop"), [(c, p) for c, props in API["properties"].items() for p in props]
)
def test_properties(cls, prop):
    assert isinstance(inspect.getattr_static(getattr(ithaca, cls), prop), property)


@pytest.mark.parametrize(("enum", "members"), API["members"].items())
def test_enum_members(enum, members):
    e = getattr(ithaca, enum)
    assert {m.name: m.value for m in e} == members
    assert e("connected" if "CONNECTED" in members else "pending") == next(
        m for m in e if m.value in ("connected", "pending")
    )


@pytest.mark.parametrize(
    ("cls", "attr"), [(c, a) for c, attrs in API["error_attributes"].items() for a in attrs]
)
def test_error_attributes(cls, attr):
    if f"{cls}.{attr}" in GAPS:
        pytest.skip(GAPS[f"{cls}.{attr}"])
    assert hasattr(getattr(ithaca, cls)("m", code="X"), attr)


def test_video_frame_shape():
    frame = ithaca.VideoFrame(np.zeros((4, 6, 3), np.uint8), 6, 4, 1234)
    assert frame.data.shape == (4, 6, 3) and frame.data.dtype == np.uint8
    assert frame.timestamp_ms == 1234 and isinstance(frame.timestamp_ms, int)
    assert frame.rgb is frame.data and frame.timestamp == 1.234  # our earlier names


def jwt(claims: dict) -> str:
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256'})}.{part(claims)}.sig"


def test_client_credentials_construct_like_the_official_sdk():
    token = jwt({"session_id": "ses_test"})
    creds = ithaca.ClientCredentials("ws://h/s", token, 600)
    assert creds.session_id == "ses_test" and creds.capabilities == {}
    assert not creds.capabilities.image_to_video
    caps = ithaca.StreamerCapabilities(image_to_video=True)
    with_caps = ithaca.ClientCredentials("ws://h/s", token, 600, caps)
    assert with_caps.capabilities.image_to_video and with_caps.capabilities["image_to_video"]
    assert ithaca.StreamerCapabilities.from_dict(caps.to_dict()) == {"image_to_video": True}
    with pytest.raises(ValueError):
        ithaca.ClientCredentials("ws://h/s", token, 600, session_id="ses_other")


def test_aliases_are_the_same_objects():
    assert ithaca.Odyssey is ithaca.Ithaca
    assert ithaca.ConnectionStatus is ithaca.Status
    assert ithaca.OdysseyConnectionError is ithaca.ConnectionError
    assert ithaca.OdysseyError is ithaca.IthacaError


@pytest.mark.asyncio
async def test_hosted_only_methods_say_so():
    with pytest.raises(ithaca.RequestError) as raised:
        await ithaca.Odyssey().get_recording("st_1")
    assert raised.value.code == "not_supported"


# ---- the README's migration table ----

ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|\s*(?:`([^`]+)`|([^|]*?))\s*\|", re.M)


def migration_rows() -> dict[str, str | None]:
    section = README.split("## Moving from the official Odyssey SDK", 1)
    assert len(section) == 2, "README.md lacks the '## Moving from the official Odyssey SDK'"
    table = section[1].split("\n## ", 1)[0]
    return {m[1]: m[2] for m in ROW.finditer(table)}


def official_members() -> set[str]:
    dotted = set(API["parameters"]) | set(API["coroutines"])
    dotted |= {f"{c}.{p}" for c, props in API["properties"].items() for p in props}
    return {d for d in dotted if "." in d}


def test_the_readme_table_lists_every_official_name():
    rows = migration_rows()
    missing = sorted((set(API["names"]) | official_members()) - set(rows))
    assert not missing, f"README.md's migration table lacks {missing}"


def test_the_readme_table_names_what_ours_has():
    for official, ours in migration_rows().items():
        if ours is None:
            continue  # a row whose second column explains, rather than names
        root, _, rest = official.partition(".")
        if ours == "same":
            ours = f"{OFFICIAL_TO_OURS_ROOT.get(root, root)}.{rest}" if rest else root
        resolve(ours)


def test_every_known_gap_is_in_the_readme():
    for gap in GAPS:
        assert gap in README, f"README.md does not mention the known gap {gap}"


# ---- the official handler semantics, on the event path (no server needed) ----


@pytest.mark.asyncio
async def test_status_changes_pass_a_connection_status_and_prompts_are_tracked():
    from ithaca.stream import StreamSession

    seen = []
    creds = ithaca.ClientCredentials("ws://h/s", jwt({"session_id": "ses_test"}), 600)
    session = StreamSession(creds, {"on_status_change": lambda s, m: seen.append((s, m))})
    await session._set_status("connecting", "dialing")
    assert seen == [("connecting", "dialing")] and type(seen[0][0]) is ithaca.ConnectionStatus
    assert session.last_applied_prompt is None
    started = {"type": "stream_started", "stream_id": "st_1", "applied_prompt": "a cat, rewritten"}
    await session._on_event(json.dumps(started))
    assert session.last_applied_prompt == "a cat, rewritten"
    await session._on_event(json.dumps({"type": "update_acknowledged", "prompt": "it rains"}))
    assert session.last_applied_prompt == "it rains"


@pytest.mark.asyncio
async def test_on_error_is_told_whether_the_error_is_fatal():
    from ithaca.stream import StreamSession

    errors = []
    creds = ithaca.ClientCredentials("ws://h/s", jwt({"session_id": "ses_test"}), 600)
    session = StreamSession(creds, {"on_error": lambda e, fatal: errors.append((e.code, fatal))})
    await session._set_status("connected")
    await session._end("failed", ithaca.ConnectionError("gone", code="session_ended"))
    assert errors == [("session_ended", True)]
