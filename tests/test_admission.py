"""Spec of admission control: a per-client rate limit (429 + Retry-After), a bounded queue in front of a
concurrency limit (503 + Retry-After), and /health answered at once whatever /ask is doing. A real uvicorn
server on 127.0.0.1 and real HTTP clients.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from assistant.admission import TokenBuckets
from assistant.api import create_app
from assistant.config import Settings
from tests.conftest import serve_in_thread

ROOT = Path(__file__).resolve().parents[1]


def test_a_bucket_passes_its_capacity_then_says_how_long_to_wait() -> None:
    b = TokenBuckets(rate_per_minute=3)
    assert [b.take("a", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert b.take("a", now=0.0) == pytest.approx(20.0)  # 3 per minute: one token every 20 s
    assert b.take("b", now=0.0) == 0.0  # another client has its own bucket
    assert b.take("a", now=20.0) == 0.0


def _settings(data: Path, **kw: object) -> Settings:
    return Settings(corpus_dir=ROOT / "corpus", data_dir=data, **kw)


@pytest.mark.slow
@pytest.mark.server
def test_over_the_rate_limit_a_client_gets_429_with_retry_after_and_health_still_answers(
    built_data_dir: Path,
) -> None:
    app = create_app(built_data_dir, _settings(built_data_dir, rate_limit_per_minute=5))
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=60) as http:
        codes = [http.get("/documents").status_code for _ in range(5)]
        refused = http.post("/ask", json={"question": "企15の担当は？"})
        assert codes == [200] * 5
        assert refused.status_code == 429, refused.text
        assert int(refused.headers["Retry-After"]) >= 1
        assert "5 requests per minute" in refused.json()["message"]
        assert http.get("/health").status_code == 200  # exempt: never limited


@pytest.mark.slow
@pytest.mark.server
def test_a_full_queue_gives_503_with_retry_after_while_health_answers_at_once(built_data_dir: Path) -> None:
    settings = _settings(built_data_dir, rate_limit_per_minute=0, max_concurrent=1, max_queue=1)
    app = create_app(built_data_dir, settings)
    n = 6
    start = threading.Barrier(n + 1)
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=120) as http:

        def ask(i: int) -> httpx.Response:
            start.wait()
            question = (
                f"{i} 企{i + 1}の担当課と事業の概要、KPIの目標値を教えてください。" + "デジタル化" * 380
            )
            return http.post("/ask", json={"question": question[:2000]})

        with ThreadPoolExecutor(n) as pool:
            futures = [pool.submit(ask, i) for i in range(n)]
            start.wait()
            health = http.get("/health")
            asks_done_when_health_answered = sum(f.done() for f in futures)
            results = [f.result() for f in futures]
    assert health.status_code == 200
    assert asks_done_when_health_answered < n  # /health did not wait behind the queued /ask requests
    codes = sorted(r.status_code for r in results)
    assert set(codes) <= {200, 503} and codes.count(200) >= 1 and codes.count(503) >= 1, codes
    for r in results:
        if r.status_code == 503:
            assert int(r.headers["Retry-After"]) >= 1 and "busy" in r.json()["message"]
