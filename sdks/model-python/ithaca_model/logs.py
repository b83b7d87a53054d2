"""Python logging records of the worker sent to the streamer as `log` messages."""

import logging
import threading

_LEVELS = ((logging.ERROR, "error"), (logging.WARNING, "warning"), (logging.INFO, "info"))
MAX_LOG_BYTES = 4096


def level_name(levelno: int) -> str:
    for threshold, name in _LEVELS:
        if levelno >= threshold:
            return name
    return "debug"


def truncate(text: str, limit: int) -> str:
    """`text` cut to at most `limit` bytes of UTF-8, never inside a character."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore")


class StreamerHandler(logging.Handler):
    """Sends each record through `send(name, payload)`; never re-enters itself (a record logged
    while sending is dropped). Records of other threads are sent too, one packet each."""

    def __init__(self, send):
        super().__init__()
        self._send = send
        self._busy = threading.local()
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(self._busy, "on", False):
            return
        self._busy.on = True
        try:
            message = truncate(self.format(record), MAX_LOG_BYTES)
            self._send("log", {"level": level_name(record.levelno), "message": message})
        except Exception:
            self.handleError(record)
        finally:
            self._busy.on = False
