import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from streamer import FakeStreamer


@pytest.fixture
def worker():
    started = []

    def spawn(spec, *args, **kwargs):
        s = FakeStreamer(spec, *args, **kwargs)
        started.append(s)
        return s

    yield spawn
    for s in started:
        s.close()
