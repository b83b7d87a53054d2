"""Run a world model as a worker of `ithaca streamer` (docs/model-workers.md)."""

from .model import BatchedModel, Capabilities, Context, Model, Param, Session
from .runtime import serve

__all__ = ["BatchedModel", "Capabilities", "Context", "Model", "Param", "Session", "serve"]
