"""Spec: ingest is deterministic. Two ingests of the same corpus into fresh data dirs, each with its own empty
embedding cache (every vector is computed again, in the same batches), give identical answers to the development
set. (A vector from a shared cache may come from another batch and differ in the last bits, which can reorder
near-ties such as the suggested related measures; so the cache is not shared here.)
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
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = []
    for n in (1, 2):
        monkeypatch.setenv("POLICY_ASSISTANT_EMBEDDING_CACHE", str(tmp_path / f"cache-{n}.sqlite"))
        data = tmp_path / f"data-{n}"
        result = ingest(ROOT / "corpus", data)
        assert result.embedded == result.chunks  # nothing came from a cache
        answers.append(_answers(data))
    first, second = answers
    assert len(first) >= 100
    diff = [(a[0], a[2][:80], b[2][:80]) for a, b in zip(first, second, strict=True) if a != b]
    assert not diff, diff[:5]
