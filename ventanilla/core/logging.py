"""Structured logs: one JSON object per line, for production (stdout, read by the platform's log collector).

Fields: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, ``request_id`` (from the request context
set by ``RequestContextMiddleware``, or from the request Django attaches to its own records), ``exc_info``
when an exception is logged, and any ``extra={...}`` values that JSON can hold. No dependency beyond the
standard library; gunicorn's logger (config/gunicorn.conf.py) uses the same formatter.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from .middleware import current_request_context

# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is worth keeping.
_STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime", "taskName"}
)
_SCALARS = (str, int, float, bool, type(None))


def _jsonable(value: Any) -> bool:
    if isinstance(value, _SCALARS):
        return True
    if isinstance(value, list | tuple):
        return all(_jsonable(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _jsonable(v) for k, v in value.items())
    return False


def _request_id(record: logging.LogRecord) -> str | None:
    explicit = getattr(record, "request_id", None)
    if isinstance(explicit, str) and explicit:
        return explicit
    context = current_request_context()
    if context is not None:
        return context.request_id
    # django.request logs 4xx/5xx after the middleware chain has returned: the request carries its id.
    request = getattr(record, "request", None)
    return getattr(request, "request_id", None) or None


class JsonFormatter(logging.Formatter):
    """``logging.Formatter`` that writes one JSON object per record (keys in a stable order)."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = _request_id(record)
        if request_id:
            payload["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and key not in payload and key != "request" and _jsonable(value):
                payload[key] = value
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            payload["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(payload, ensure_ascii=False, default=str)
