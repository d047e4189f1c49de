"""Spec of `policy-assistant serve --workers N`: several processes answer over one data dir, and a re-index
(here an outside `policy-assistant ingest` of an edited corpus) reaches every worker without a restart.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from assistant.launch import stop_process
from ingest.index import ingest
from tests.conftest import copy_corpus, free_port

pytestmark = [pytest.mark.slow, pytest.mark.server]

PLAN = "miyagi-ict-policy-2021-2024.txt"


def _wait_up(proc: subprocess.Popen[bytes], url: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server exited"
        try:
            if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError("the server did not come up")


def _index_ids(url: str, n: int) -> set[str]:
    """The index id /health reports over `n` fresh connections (each may land on another worker)."""
    return {httpx.get(f"{url}/health", timeout=30).json()["index"]["id"] for _ in range(n)}


def test_two_workers_answer_and_all_follow_a_new_index(built_data_dir: Path, tmp_path: Path) -> None:
    corpus = copy_corpus(tmp_path / "corpus")
    data = tmp_path / "data"
    shutil.copytree(built_data_dir, data)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "POLICY_ASSISTANT_RELOAD_CHECK_SECONDS": "0.5",
        "POLICY_ASSISTANT_RATE_LIMIT_PER_MINUTE": "0",
    }
    cmd = [sys.executable, "-m", "assistant.cli", "serve", "--data-dir", str(data), "--port", str(port)]
    proc = subprocess.Popen(
        [*cmd, "--workers", "2"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        _wait_up(proc, url)
        before = _index_ids(url, 10)
        assert len(before) == 1
        r = httpx.post(f"{url}/ask", json={"question": "企15の担当課は？"}, timeout=60)
        assert r.status_code == 200 and r.json()["answerable"]
        plan = corpus / PLAN
        text = plan.read_text(encoding="utf-8")
        plan.write_text(
            re.sub("無料公衆無線ＬＡＮの整備", "無料公衆無線ＬＡＮの整備拡充", text, count=1), "utf-8"
        )
        ingest(corpus, data)
        deadline = time.monotonic() + 120
        seen: set[str] = set()
        while time.monotonic() < deadline:
            seen = _index_ids(url, 20)
            if seen and before.isdisjoint(seen):
                break
            time.sleep(1)
        assert seen and before.isdisjoint(seen), f"workers still on the old index: {seen}"
    finally:
        stop_process(proc)
