"""Spec: ingest is deterministic. Two ingests of the same corpus into fresh data dirs (the second with its own,
empty embedding cache, so every vector is computed again) give identical answers to the development set.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.schemas import AskRequest
from assistant.service import Assistant
from ingest.index import ingest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def _answers(data: Path) -> list[tuple]:
    bot = Assistant.open(data)
    out = []
    for line in (ROOT / "evals" / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        q = json.loads(line)
        resp = bot.ask(AskRequest(question=q["question"], history=q.get("history") or []))
        cites = [(c.doc_id, c.measure_id, c.location) for c in resp.citations]
        out.append((q["id"], resp.answerable, resp.answer, cites))
    return out


def test_two_fresh_ingests_answer_the_development_set_identically(
    built_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICY_ASSISTANT_EMBEDDING_CACHE", str(tmp_path / "own-cache.sqlite"))
    fresh = tmp_path / "data"
    result = ingest(ROOT / "corpus", fresh)
    assert result.embedded == result.chunks  # nothing came from a cache
    first, second = _answers(built_data_dir), _answers(fresh)
    assert len(first) >= 100
    diff = [(a[0], a[2][:80], b[2][:80]) for a, b in zip(first, second, strict=True) if a != b]
    assert not diff, diff[:5]
