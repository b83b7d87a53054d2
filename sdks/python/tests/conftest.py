import json
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
SPEC = REPO_ROOT / "spec"


def load_json(relative: str):
    return json.loads((SPEC / relative).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def credential_vectors():
    return load_json("vectors/credentials.json")["cases"]


@pytest.fixture(scope="session")
def good_input(credential_vectors):
    return next(v for v in credential_vectors if v["id"] == "snake_case_roundtrip")["input"]
