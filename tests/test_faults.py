"""Ingest faults while serving: a real uvicorn server on 127.0.0.1 and a client thread asking continuously.

- Re-index through `POST /admin/reindex` while answering: zero failed requests, answers come from the old
  index until the new one is complete, then from the new one.
- An outside `ingest` while serving, then `Assistant.reload()`: the service keeps the old index until reload.
- A re-index that fails (a broken corpus): 409 with the reason, the old index keeps serving, nothing is lost.
- A missing or corrupt data dir: `policy-assistant serve` exits 2 with one line naming the dir and the
  rebuild command, never a traceback.
A crash (SIGKILL) mid-ingest is tested in tests/test_index.py::test_killing_ingest_midway_leaves_the_old_index_answering.

The edit used throughout changes one cell of the corpus (a measure's 事業開始 year), so each re-index embeds
one changed chunk (the embedding cache of the session has every other one).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from assistant.api import create_app
from assistant.config import Settings
from ingest.index import current_index_dir, ingest
from tests.conftest import EMBEDDING_CACHE, break_data_dir, copy_corpus, serve_in_thread
from tests.conftest import free_port as _free_port

pytestmark = [pytest.mark.slow, pytest.mark.server]

ROOT = Path(__file__).resolve().parents[1]
PLAN = "miyagi-ict-policy-2021-2024.txt"
TOKEN = "faults-admin-token"
MEASURE = "企15"
QUESTION = {"question": f"{MEASURE}はいつから始まった事業？"}


def _set_start_year(corpus: Path, label: str) -> str:
    """Replace the 事業開始 cell of MEASURE's listing (the first era label after its id line); return the old one."""
    path = corpus / PLAN
    lines = path.read_text(encoding="utf-8").split("\n")
    start = next(i for i, x in enumerate(lines) if x.strip() == MEASURE)
    i = next(j for j in range(start, start + 80) if re.fullmatch(r"[HR]\d{1,2}", lines[j].strip()))
    old = lines[i].strip()
    lines[i] = lines[i].replace(old, label)
    path.write_text("\n".join(lines), encoding="utf-8")
    return old


@dataclass
class Server:
    app: object
    base: str
    corpus: Path
    data: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("faults")
    corpus = copy_corpus(root / "corpus")
    data = root / "data"
    ingest(corpus, data, embedding_cache=EMBEDDING_CACHE)
    # the askers below post as fast as answers come, from one address: the per-client rate limit is not under test
    settings = Settings(corpus_dir=corpus, data_dir=data, admin_token=TOKEN, rate_limit_per_minute=0)
    app = create_app(data, settings)
    with serve_in_thread(app) as base:
        yield Server(app, base, corpus, data)


@dataclass
class Asker:
    """A thread posting QUESTION in a loop; records (start, end, status, answer) of every request."""

    base: str
    results: list[tuple[float, float, int, str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=120) as http:
            while not self.stop.is_set():
                t0 = time.monotonic()
                try:
                    r = http.post("/ask", json=QUESTION)
                    status, text = r.status_code, r.json().get("answer", r.text)
                except Exception as exc:  # a refused or dropped connection counts as a failure
                    status, text = -1, repr(exc)
                self.results.append((t0, time.monotonic(), status, text))

    def wait_for(self, n: int, after: float = 0.0, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while sum(1 for r in self.results if r[0] >= after) < n:
            assert time.monotonic() < deadline, f"the asker made only {len(self.results)} requests"
            time.sleep(0.05)


@contextlib.contextmanager
def _asking(base: str) -> Iterator[Asker]:
    asker = Asker(base)
    thread = threading.Thread(target=asker.run, daemon=True)
    thread.start()
    try:
        asker.wait_for(2)
        yield asker
    finally:
        asker.stop.set()
        thread.join(timeout=120)
    failed = [r for r in asker.results if r[2] != 200]
    assert not failed, f"{len(failed)} of {len(asker.results)} requests failed: {failed[:3]}"


def _answer(base: str) -> str:
    r = httpx.post(f"{base}/ask", json=QUESTION, timeout=120)
    assert r.status_code == 200, r.text
    return r.json()["answer"]


def _health(base: str) -> dict:
    h = httpx.get(f"{base}/health", timeout=30).json()
    return {k: v for k, v in h.items() if k != "index"}


def _check_switch(asker: Asker, old: str, new: str, t_start: float, t_done: float) -> None:
    before = [r for r in asker.results if r[1] <= t_start]
    during = [r for r in asker.results if r[0] < t_done and r[1] > t_start]  # overlapping the re-index
    after = [r for r in asker.results if r[0] >= t_done]
    assert before and all(old in r[3] and new not in r[3] for r in before), before[:2]
    assert during, "no request was answered while the new index was being built"
    assert all(old in r[3] or new in r[3] for r in during), during[:2]
    assert after and all(new in r[3] and old not in r[3] for r in after), after[:2]


def test_reindex_while_serving_switches_without_failed_requests(served: Server) -> None:
    old = re.search(r"[HR]\d+", _answer(served.base)).group(0)
    new = "H30" if old != "H30" else "H28"
    health = _health(served.base)
    index_before = current_index_dir(served.data)
    with _asking(served.base) as asker:
        _set_start_year(served.corpus, new)
        t_start = time.monotonic()
        r = httpx.post(
            f"{served.base}/admin/reindex", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=600
        )
        t_done = time.monotonic()
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["switched"] is True and body["unchanged"] is False
        asker.wait_for(3, after=t_done)
    _check_switch(asker, old, new, t_start, t_done)
    assert current_index_dir(served.data) != index_before
    assert _health(served.base) == health  # same records and chunks: nothing lost


def test_outside_ingest_serves_old_index_until_reload(served: Server) -> None:
    old = re.search(r"[HR]\d+", _answer(served.base)).group(0)
    new = "H27" if old != "H27" else "H26"
    health = _health(served.base)
    assistant = served.app.state.assistant
    with _asking(served.base) as asker:
        _set_start_year(served.corpus, new)
        t_start = time.monotonic()
        # e.g. `policy-assistant ingest` from a shell
        result = ingest(served.corpus, served.data, embedding_cache=EMBEDDING_CACHE)
        assert not result.unchanged and current_index_dir(served.data) == result.index_dir
        asker.wait_for(3, after=time.monotonic())
        assert old in _answer(served.base)  # CURRENT moved, the service still answers from its index
        assert assistant.reload() is True
        t_done = time.monotonic()
        assert assistant.reload() is False  # nothing newer: no-op
        asker.wait_for(3, after=t_done)
    _check_switch(asker, old, new, t_start, t_done)
    assert _health(served.base) == health


def test_failed_reindex_keeps_the_old_index_serving(served: Server) -> None:
    answer = _answer(served.base)
    health = _health(served.base)
    index_before = current_index_dir(served.data)
    plan = served.corpus / PLAN
    saved = plan.read_bytes()
    try:
        plan.unlink()  # the manifest names a file that is gone
        with _asking(served.base) as asker:
            r = httpx.post(
                f"{served.base}/admin/reindex", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=600
            )
            assert r.status_code == 409, r.text
            message = r.json()["message"]
            assert "old index still serves" in message and PLAN in message
            asker.wait_for(2, after=time.monotonic())
    finally:
        plan.write_bytes(saved)
    assert all(r[3] == answer for r in asker.results)
    assert current_index_dir(served.data) == index_before
    assert _health(served.base) == health and _answer(served.base) == answer


# --- a missing or corrupt data dir ----------------------------------------------------------------------------


BROKEN = [
    "missing dir",
    "empty dir",
    "CURRENT is garbage",
    "CURRENT names a missing index",
    "meta.json missing",
    "catalog.json truncated",
    "chroma store missing",
    "sources.json missing",
]


@pytest.fixture(scope="module")
def good_index(built_data_dir: Path) -> Path:
    return current_index_dir(built_data_dir)


def test_serve_refuses_a_bad_data_dir_with_the_fix(tmp_path: Path, good_index: Path) -> None:
    """All broken data dirs at once (one process each, started in parallel to keep the test short)."""
    dirs = {}
    for i, how in enumerate(BROKEN):
        data = tmp_path / f"data{i}"
        if how != "missing dir":
            data.mkdir()
        if how not in ("missing dir", "empty dir"):
            shutil.copytree(good_index, data / good_index.name)
            (data / "CURRENT").write_text(json.dumps({"index": good_index.name}), encoding="utf-8")
            break_data_dir(data, how)
        dirs[how] = data
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    procs = {
        how: subprocess.Popen(
            [
                sys.executable,
                "-m",
                "assistant.cli",
                "serve",
                "--data-dir",
                str(d),
                "--port",
                str(_free_port()),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for how, d in dirs.items()
    }
    problems = []
    for how, proc in procs.items():
        try:
            out, err = proc.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            problems.append(f"{how}: the server started (it should refuse)")
            continue
        text = out + err
        if proc.returncode != 2:
            problems.append(f"{how}: exit code {proc.returncode}, expected 2\n{text[-800:]}")
        elif "Traceback" in text:
            problems.append(f"{how}: printed a traceback\n{text[-800:]}")
        elif (
            str(dirs[how]) not in err or "policy-assistant ingest" not in err or not err.startswith("error: ")
        ):
            problems.append(f"{how}: the message lacks the dir or the command\n{err}")
    assert not problems, "\n\n".join(problems)
