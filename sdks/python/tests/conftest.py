import json
import os
import subprocess
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
SPEC = REPO_ROOT / "spec"
# `ithaca server --dev` for the tests that need a real node; skipped where it is not built.
BIN = Path(os.environ.get("ITHACA_BIN") or REPO_ROOT / "build/dev/apps/ithaca/ithaca")


def load_json(relative: str):
    return json.loads((SPEC / relative).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def credential_vectors():
    return load_json("vectors/credentials.json")["cases"]


@pytest.fixture(scope="session")
def good_input(credential_vectors):
    return next(v for v in credential_vectors if v["id"] == "snake_case_roundtrip")["input"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not BIN.is_file():
        pytest.skip(f"no ithaca binary at {BIN} (build it, or set ITHACA_BIN)")
    data = tmp_path_factory.mktemp("ithaca-data")
    port_file = data / "port"
    proc = subprocess.Popen(
        [
            str(BIN),
            "server",
            "--dev",
            "--listen",
            "127.0.0.1:0",
            "--data",
            str(data),
            "--port-file",
            str(port_file),
        ],
        stdout=subprocess.DEVNULL,
        stderr=(data / "server.log").open("wb"),
    )
    try:
        deadline = time.monotonic() + 20
        while not (port_file.is_file() and port_file.read_text().strip()):
            if proc.poll() is not None or time.monotonic() > deadline:
                log = (data / "server.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"ithaca server did not start: {log}")
            time.sleep(0.05)
        port = int(port_file.read_text().strip())
        key_file = data / "dev-api-key"
        while not key_file.is_file() and time.monotonic() < deadline:
            time.sleep(0.05)
        yield {"url": f"http://127.0.0.1:{port}", "key": key_file.read_text().strip()}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
