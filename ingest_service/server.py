"""Running the app under gunicorn: ``serve(settings)`` for ``afissue ingest`` and ``afissue dev``.

Each worker builds its own app (and so its own Kafka producer and Redis pool) after
the fork. Returns when gunicorn stops (SIGTERM/SIGINT). Refuses to start without tokens
unless ``allow_open`` says so explicitly.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import shutil
import tempfile
from typing import TYPE_CHECKING, Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker

from ingest_service.errors import IngestConfigError
from ingest_service.logs import configure_logging
from ingest_service.settings import IngestSettings
from ingest_service.tokens import TokenStore

if TYPE_CHECKING:
    from ingest_service.ui.settings import UISettings

__all__ = ["IngestServer", "check_startable", "serve"]

log = logging.getLogger(__name__)


def check_startable(settings: IngestSettings) -> None:
    """``IngestConfigError`` unless the settings name a readable tokens file or allow_open."""
    if settings.tokens_file:
        store = TokenStore(settings.tokens_file)  # raises on unreadable/malformed files
        if not store.services and not settings.allow_open:
            raise IngestConfigError(
                f"tokens file {settings.tokens_file!r} holds no token; add one with "
                "'afissue token new SERVICE'"
            )
        return
    if not settings.allow_open:
        raise IngestConfigError(
            "no tokens file: set AFISSUE_TOKENS_FILE (create entries with "
            "'afissue token new SERVICE'), or set AFISSUE_ALLOW_OPEN=1 to accept "
            "unauthenticated events (local use only)"
        )


class BalancedThreadWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's gthread worker, taking a new connection only while a thread is idle.

    Stock gthread workers all race for every new connection and queue whatever they win
    behind their own busy threads, so a few busy keep-alive clients can end up on one
    worker — one GIL, one core — while another worker idles (measured: 15 of 16
    connections on one of two workers, a third less throughput). Here a worker whose
    threads are all busy stops accepting, and the kernel hands the connection to a
    worker that has a free thread (or keeps it in the backlog until one frees up).

    This overrides gthread internals (``enqueue_req``, ``finish_request``,
    ``set_accept_enabled``), all called on the worker's main thread; pyproject pins
    gunicorn 27 and tests/ingest_service/test_server.py checks the behaviour.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_flight = 0

    def enqueue_req(self, conn: Any) -> None:
        self._in_flight += 1
        super().enqueue_req(conn)
        if self._in_flight >= self.cfg.threads:
            self.set_accept_enabled(False)

    def finish_request(self, conn: Any, fs: Any) -> None:
        self._in_flight -= 1
        super().finish_request(conn, fs)

    def set_accept_enabled(self, enabled: bool) -> None:
        super().set_accept_enabled(enabled and self._in_flight < self.cfg.threads)


class IngestServer(BaseApplication):  # type: ignore[misc]
    """gunicorn application that builds the ingest app in each worker."""

    def __init__(
        self,
        settings: IngestSettings,
        metrics_dir: str | None = None,
        ui_settings: UISettings | None = None,
    ) -> None:
        self.settings = settings
        self.metrics_dir = metrics_dir
        self.ui_settings = ui_settings
        super().__init__()

    def load_config(self) -> None:
        settings = self.settings
        threads = max(1, settings.threads)
        options: dict[str, Any] = {
            "bind": f"{settings.host}:{settings.port}",
            "workers": max(1, settings.workers),
            "threads": threads,
            "worker_class": BalancedThreadWorker if threads > 1 else "sync",
            "timeout": settings.request_timeout_s,
            "graceful_timeout": 10,
            "keepalive": 5,
            "loglevel": settings.log_level,
            "accesslog": None,
            "errorlog": "-",
            "proc_name": "afissue-ingest",
            "post_worker_init": _post_worker_init,
            "worker_exit": _worker_exit,
            "child_exit": self._child_exit,
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def _child_exit(self, _server: Any, worker: Any) -> None:
        if self.metrics_dir:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(worker.pid, self.metrics_dir)  # type: ignore[no-untyped-call]

    def load(self) -> Flask:
        from ingest_service import create_app

        test_config = {"PROMETHEUS_MULTIPROC_DIR": self.metrics_dir} if self.metrics_dir else None
        return create_app(test_config, settings=self.settings, ui_settings=self.ui_settings)


def _ingest_state(worker: Any) -> Any:
    app = getattr(worker, "wsgi", None)
    return getattr(app, "extensions", {}).get("afissue_ingest")


def _post_worker_init(worker: Any) -> None:
    """Connect the worker's producer before it takes requests."""
    ingest_state = _ingest_state(worker)
    if ingest_state is not None:
        ingest_state.publisher.warm()


def _worker_exit(_server: Any, worker: Any) -> None:
    """Flush the worker's Kafka producer so nothing in flight is lost at shutdown."""
    ingest_state = _ingest_state(worker)
    if ingest_state is not None:
        ingest_state.close()


def _enable_multiprocess_metrics() -> str:
    """Point prometheus-client at a fresh directory shared by this server's workers."""
    from prometheus_client import values

    directory = tempfile.mkdtemp(prefix="afissue-ingest-metrics-")
    # prometheus-client's multiprocess values read this variable when they are created.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
    return directory


def serve(settings: IngestSettings, ui_settings: UISettings | None = None) -> None:
    """Run gunicorn in the foreground with the workers/threads of *settings*."""
    check_startable(settings)
    if not settings.secret_key:
        # One key for every worker, or a session cookie signed by one is refused by another.
        settings = dataclasses.replace(settings, secret_key=secrets.token_hex(32))
    configure_logging(settings.log_level)
    if settings.tokens_file is None:
        log.warning("ingest API running OPEN: any caller may post events (allow_open)")
    metrics_dir = _enable_multiprocess_metrics()
    try:
        IngestServer(settings, metrics_dir, ui_settings).run()
    except SystemExit as exc:
        if exc.code not in (None, 0):
            raise
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
