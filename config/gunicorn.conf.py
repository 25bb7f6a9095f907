"""gunicorn settings for production (`make serve-prod`; `gunicorn -c config/gunicorn.conf.py`).

Every value can be changed from the environment:

- ``GUNICORN_BIND`` (``127.0.0.1:8000``): keep the app on loopback behind a reverse proxy (TLS, buffering).
- ``WEB_CONCURRENCY``: worker processes; default ``2 × cores + 1``, capped at 12 (each worker holds its own
  database connection, see CONN_MAX_AGE; size PostgreSQL's max_connections for workers × machines).
- ``GUNICORN_THREADS`` (1), ``GUNICORN_TIMEOUT`` (30 s), ``GUNICORN_MAX_REQUESTS`` (2000, with jitter).
- ``FORWARDED_ALLOW_IPS`` (``127.0.0.1,::1``): proxies trusted for ``X-Forwarded-Proto`` (Django's
  SECURE_PROXY_SSL_HEADER then knows the original request was https). Never ``*`` unless the app port is
  unreachable except through the proxy.
- ``PROXY_PROTOCOL`` (``off``; ``v1``/``v2``/``auto``) and ``PROXY_ALLOW_IPS``: gunicorn does not take the
  client address from ``X-Forwarded-For``; with the PROXY protocol enabled on the proxy (HAProxy
  ``send-proxy``, nginx ``proxy_protocol on`` in a stream block) ``REMOTE_ADDR`` is the real client, which the
  rate limits and the audit log rely on.
- ``PROMETHEUS_MULTIPROC_DIR``: directory where each worker writes its metrics (emptied at start here).

Logs: access and error lines go to stdout as JSON (ventanilla.core.logging.JsonFormatter), like Django's.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from gunicorn.glogging import Logger

from ventanilla.core.logging import JsonFormatter


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY") or min(2 * _cpu_count() + 1, 12))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
proxy_protocol = os.environ.get("PROXY_PROTOCOL", "off")
proxy_allow_ips = os.environ.get("PROXY_ALLOW_IPS", "127.0.0.1,::1")
wsgi_app = "config.wsgi:application"
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# Workers start from a forked, already-imported app: less memory, and an import error stops the master.
preload_app = True


class JsonLogger(Logger):
    """gunicorn's logger with one JSON object per line on stdout for both the access and the error log."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        formatter = JsonFormatter()
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if isinstance(handler, logging.StreamHandler):
                    handler.setStream(sys.stdout)
                handler.setFormatter(formatter)

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        headers = {name.lower(): value for name, value in resp.headers}
        self.access_log.info(
            "%s %s %s",
            environ.get("REQUEST_METHOD"),
            environ.get("PATH_INFO"),
            status,
            extra={
                "request_id": headers.get("x-request-id", ""),
                "remote_addr": environ.get("REMOTE_ADDR", ""),
                "method": environ.get("REQUEST_METHOD", ""),
                "path": environ.get("PATH_INFO", ""),
                "query": environ.get("QUERY_STRING", ""),
                "status": int(status) if str(status).isdigit() else status,
                "bytes": getattr(resp, "sent", None),
                "duration_ms": round(request_time.total_seconds() * 1000, 2),
                "user_agent": environ.get("HTTP_USER_AGENT", ""),
                "referer": environ.get("HTTP_REFERER", ""),
                "pid": os.getpid(),
            },
        )


logger_class = JsonLogger


def on_starting(server: Any) -> None:
    """Start every run with an empty metrics directory (stale files from dead processes would be summed)."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        Path(directory).mkdir(parents=True, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges from the merged view."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
