"""Several server processes over one data dir: `policy-assistant serve --workers N`.

Uvicorn starts each worker from an import string, so `app_factory()` builds the app from `Settings` (the CLI
passes the data dir on as POLICY_ASSISTANT_DATA_DIR). Each worker opens the index on its own and only reads it.
A re-index (`POST /admin/reindex` on whichever worker receives it, or an outside `policy-assistant ingest`)
moves `CURRENT`; `FollowCurrent` makes every worker notice within `Settings.reload_check_seconds` and switch
with `Assistant.reload()` in a background thread, so no request waits for the new index to open.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from assistant.config import get_settings
from assistant.service import Assistant
from ingest.errors import DataDirError
from ingest.index import current_index_dir
from ingest.integrity import damaged

__all__ = ["app_factory", "check_data_dir", "FollowCurrent", "APP_FACTORY"]

APP_FACTORY = "assistant.workers:app_factory"
LOG = logging.getLogger("policy_assistant.service")


def app_factory() -> FastAPI:
    """The API over `Settings.data_dir`, following CURRENT (the entry point of every worker)."""
    from assistant.api import create_app
    from assistant.cli import _log_to_stderr

    _log_to_stderr()
    settings = get_settings()
    app = create_app(settings.data_dir, settings)
    app.add_middleware(FollowCurrent, assistant=app.state.assistant, every=settings.reload_check_seconds)
    return app


def check_data_dir(data_dir: Path) -> None:
    """Raise DataDirError (with the fix) when the data dir has no complete, intact index; cheap: no model loads."""
    index = current_index_dir(data_dir)
    assert index is not None
    fix = f"repair it with `policy-assistant ingest --data-dir {data_dir}`"
    try:
        meta = json.loads((index / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataDirError(f"index {index} is incomplete ({index / 'meta.json'} unreadable); {fix}") from exc
    problem = damaged(index, meta)
    if problem:
        raise DataDirError(f"index {index} is damaged: {problem}; {fix}")


class FollowCurrent:
    """At most once per `every` seconds, on a request, read CURRENT; when it names another index, reload."""

    def __init__(self, app: ASGIApp, assistant: Assistant, every: float) -> None:
        self.app, self.assistant, self.every = app, assistant, every
        self._checked = time.monotonic()
        self._reloading = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        now = time.monotonic()
        if scope["type"] == "http" and now - self._checked >= self.every:
            self._checked = now
            if self._moved() and not self._reloading.locked():
                threading.Thread(target=self._reload, name="follow-current", daemon=True).start()
        await self.app(scope, receive, send)

    def _moved(self) -> bool:
        data_dir = self.assistant.data_dir
        if data_dir is None:
            return False
        named = current_index_dir(data_dir, missing_ok=True)  # one small file read
        return named is not None and named.name != self.assistant.index.path.name

    def _reload(self) -> None:
        with self._reloading:
            try:
                if self.assistant.reload():
                    LOG.info('{"event": "reloaded", "index": "%s"}', self.assistant.index.path.name)
            except Exception as exc:  # noqa: BLE001 - a broken new index must not stop this worker serving
                LOG.warning('{"event": "reload_failed", "error": "%s"}', type(exc).__name__)
