"""What only the hosted Odyssey service does: stream recordings and offline simulations.

Ithaca records nothing and runs no simulations, so the official SDK's methods for them exist
here only so that an app calling one gets a clear :class:`~ithaca.errors.RequestError`
(``not_supported``) instead of an ``AttributeError``. Their result types exist with the
official fields, for code that names them in annotations.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, NoReturn

from .errors import RequestError

__all__ = [
    "HostedOnlyMethods",
    "Recording",
    "SimulationJobDetail",
    "SimulationJobInfo",
    "SimulationJobStatus",
    "SimulationJobsList",
    "SimulationStream",
    "StreamRecordingInfo",
    "StreamRecordingsList",
]


@dataclass(frozen=True)
class Recording:
    stream_id: str
    video_url: str | None
    events_url: str | None
    thumbnail_url: str | None
    preview_url: str | None
    frame_count: int | None
    duration_seconds: float | None


@dataclass(frozen=True)
class StreamRecordingInfo:
    stream_id: str
    width: int
    height: int
    started_at: str
    ended_at: str | None
    duration_seconds: float | None


@dataclass(frozen=True)
class StreamRecordingsList:
    recordings: list[StreamRecordingInfo]
    total: int
    limit: int
    offset: int


class SimulationJobStatus(str, Enum):
    PENDING = "pending"
    DISPATCHED = "dispatched"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class SimulationStream:
    stream_id: str
    video_url: str | None
    events_url: str | None
    thumbnail_url: str | None
    preview_url: str | None
    frame_count: int | None
    duration_seconds: float | None
    script_index: int


@dataclass(frozen=True)
class SimulationJobInfo:
    job_id: str
    status: SimulationJobStatus
    priority: str
    created_at: str
    completed_at: str | None
    error_message: str | None


@dataclass(frozen=True)
class SimulationJobDetail:
    job_id: str
    status: SimulationJobStatus
    priority: str
    created_at: str
    dispatched_at: str | None
    started_at: str | None
    completed_at: str | None
    error_message: str | None
    assigned_region: str | None
    retry_count: int
    streams: list[SimulationStream]
    estimated_wait_minutes: float | None = None


@dataclass(frozen=True)
class SimulationJobsList:
    jobs: list[SimulationJobInfo]
    total: int
    limit: int
    offset: int


def _not_supported(what: str) -> NoReturn:
    raise RequestError(
        f"{what} is a hosted Odyssey feature; Ithaca does not provide it", code="not_supported"
    )


class HostedOnlyMethods:
    """The official client's recording and simulation methods, each raising ``not_supported``."""

    async def get_recording(self, stream_id: str) -> Recording:
        _not_supported("get_recording (stream recordings)")

    async def list_stream_recordings(
        self, limit: int | None = None, offset: int | None = None
    ) -> StreamRecordingsList:
        _not_supported("list_stream_recordings (stream recordings)")

    async def simulate(
        self,
        *,
        script: list[dict[str, Any]] | None = None,
        scripts: list[list[dict[str, Any]]] | None = None,
        script_url: str | None = None,
        portrait: bool = True,
        bypass_prompt_expansion: bool | None = None,
    ) -> SimulationJobDetail:
        _not_supported("simulate (simulations)")

    async def get_simulate_status(self, job_id: str) -> SimulationJobDetail:
        _not_supported("get_simulate_status (simulations)")

    async def list_simulations(
        self,
        *,
        status: SimulationJobStatus | None = None,
        active: bool | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> SimulationJobsList:
        _not_supported("list_simulations (simulations)")

    async def cancel_simulation(self, job_id: str) -> SimulationJobInfo:
        _not_supported("cancel_simulation (simulations)")
