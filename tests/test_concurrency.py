"""Concurrency: parallel requests through one app give the same answers as serial ones, with no errors.

The app serves `def` endpoints from a thread pool, so several requests run `Assistant.ask` at once and share
the index, the embedder, Chroma and the Sudachi dictionary (a Sudachi Tokenizer is not thread-safe; the
tokeniser keeps one per thread). Questions are one of each kind of the development set, follow-ups included.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.api import create_app
from assistant.config import Settings
from ingest.tokenize import tokenize

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
THREADS = 8
PER_THREAD = 10


def _mixed_questions() -> list[dict]:
    """The first question of each kind in evals/questions.jsonl, as /ask payloads."""
    seen: dict[str, dict] = {}
    for line in (ROOT / "evals" / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        q = json.loads(line)
        if q["kind"] not in seen:
            payload = {"question": q["question"]}
            if q.get("history"):
                payload["history"] = q["history"]
            seen[q["kind"]] = payload
    return list(seen.values())


def _stable(body: dict) -> dict:
    return {k: v for k, v in body.items() if k != "timings_ms"}


@pytest.fixture(scope="module")
def client(built_data_dir: Path):
    with TestClient(create_app(built_data_dir, Settings(data_dir=built_data_dir))) as c:
        yield c


def test_parallel_asks_match_serial_answers(client: TestClient) -> None:
    questions = _mixed_questions()
    assert len(questions) >= 10
    serial = []
    for q in questions:
        r = client.post("/ask", json=q)
        assert r.status_code == 200, r.text
        serial.append(_stable(r.json()))

    start = threading.Barrier(THREADS)

    def worker(t: int) -> list[tuple[int, int, dict | str]]:
        start.wait()  # all threads hit the app at the same moment
        out = []
        for i in range(PER_THREAD):
            n = (t * PER_THREAD + i * 3 + t) % len(questions)  # each thread its own order
            r = client.post("/ask", json=questions[n])
            out.append((n, r.status_code, _stable(r.json()) if r.status_code == 200 else r.text))
        return out

    with ThreadPoolExecutor(THREADS) as pool:
        results = [x for chunk in pool.map(worker, range(THREADS)) for x in chunk]
    assert len(results) == THREADS * PER_THREAD
    errors = [(n, status, body) for n, status, body in results if status != 200]
    assert not errors, errors[:3]
    for n, _, body in results:
        assert body == serial[n], f"parallel answer differs for {questions[n]['question']!r}"
    assert client.get("/health").status_code == 200


def test_tokenizer_shared_by_threads_gives_serial_tokens() -> None:
    texts = [q["question"] for q in _mixed_questions()] + [
        "企15、企・警12、出・総1 と R5・令和6年度 と 5G",
        "マイナンバーカード" * 200,
    ]
    expected = [tokenize(t) for t in texts]
    barrier = threading.Barrier(THREADS)

    def worker(t: int) -> list[list[str]]:
        barrier.wait()
        return [tokenize(texts[(t + i) % len(texts)]) for i in range(40)]

    with ThreadPoolExecutor(THREADS) as pool:
        for t, got in enumerate(pool.map(worker, range(THREADS))):
            for i, tokens in enumerate(got):
                assert tokens == expected[(t + i) % len(texts)]


def test_reload_under_parallel_asks_gives_old_or_new_answers_only(tmp_path: Path) -> None:
    """Flip between two complete indexes while threads ask: every answer is exactly the old or the new one."""
    from assistant.schemas import AskRequest
    from assistant.service import Assistant
    from ingest.index import current_index_dir, ingest
    from tests.conftest import EMBEDDING_CACHE, copy_corpus

    corpus = copy_corpus(tmp_path / "corpus")
    data = tmp_path / "data"
    first = ingest(corpus, data, embedding_cache=EMBEDDING_CACHE).index_dir
    plan = corpus / "miyagi-ict-policy-2021-2024.txt"
    text = plan.read_text(encoding="utf-8")
    edited = text.replace("情報政策課 \n\nH29", "情報推進課 \n\nH30", 1)  # one cell: one chunk re-embedded
    assert edited != text
    plan.write_text(edited, encoding="utf-8")
    second = ingest(corpus, data, embedding_cache=EMBEDDING_CACHE).index_dir
    assert current_index_dir(data) == second and first.is_dir()
    questions = [AskRequest(question="企15の担当課と事業開始年度は？")]
    questions += [AskRequest(**q) for q in _mixed_questions()[:5]]

    def answers(bot: Assistant) -> list[dict]:
        return [_stable(bot.ask(q).model_dump(mode="json")) for q in questions]

    bot = Assistant.open(data)
    expected = {second.name: answers(bot)}
    (data / "CURRENT").write_text(json.dumps({"index": first.name}), encoding="utf-8")
    assert bot.reload()
    expected[first.name] = answers(bot)
    assert expected[first.name] != expected[second.name]

    stop = threading.Event()

    def asker(t: int) -> list[tuple[int, dict]]:
        out, i = [], t
        while not stop.is_set():
            n = i % len(questions)
            out.append((n, _stable(bot.ask(questions[n]).model_dump(mode="json"))))
            i += 1
        return out

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(asker, t) for t in range(4)]
        for flip in range(6):
            target = (second, first)[flip % 2]
            (data / "CURRENT").write_text(json.dumps({"index": target.name}), encoding="utf-8")
            assert bot.reload()
            time.sleep(0.4)  # let the askers run on this index before the next flip
        stop.set()
        results = [x for f in futures for x in f.result()]
    assert results
    for n, body in results:
        assert body in (expected[first.name][n], expected[second.name][n]), questions[n].question
