"""Logs: one structured (JSON) access line per request, whatever the outcome, with no question text or secret.

Also checks that `policy-assistant serve` actually emits the access log (INFO on `policy_assistant.access`
to stderr): a log the server never writes is no log.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from assistant.api import MAX_BODY_BYTES, create_app
from assistant.config import Settings
from tests.conftest import free_port as _free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "log-secret-admin-token-5f1c"
QUESTION = "企15の担当課と目標値を教えてください"
ACCESS = "policy_assistant.access"


@pytest.fixture(scope="module")
def client(built_data_dir: Path):
    settings = Settings(corpus_dir=ROOT / "corpus", data_dir=built_data_dir, admin_token=TOKEN)
    with TestClient(create_app(built_data_dir, settings)) as c:
        yield c


def _access_lines(caplog: pytest.LogCaptureFixture) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == ACCESS]


REQUESTS = [
    ("POST", "/ask", {"json": {"question": QUESTION}}, 200),
    ("POST", "/ask", {"json": {"question": QUESTION, "top_k": 99}}, 422),
    ("POST", "/ask", {"json": {"question": QUESTION * 200}}, 422),
    (
        "POST",
        "/ask",
        {"content": b"{" + b"x" * (MAX_BODY_BYTES + 10), "headers": {"Content-Type": "application/json"}},
        413,
    ),
    ("GET", "/measures/企99", {}, 404),
    ("GET", "/health", {}, 200),
    ("POST", "/admin/reindex", {"headers": {"Authorization": "Bearer wrong-" + TOKEN}}, 403),
    ("GET", "/nope", {}, 404),
]


@pytest.mark.parametrize(
    ("method", "path", "kw", "status"), REQUESTS, ids=[f"{r[1]}-{r[3]}" for r in REQUESTS]
)
def test_one_json_line_per_request(
    client: TestClient, caplog: pytest.LogCaptureFixture, method: str, path: str, kw: dict, status: int
) -> None:
    with caplog.at_level(logging.DEBUG):
        r = client.request(method, path, **kw)
    assert r.status_code == status, r.text
    lines = _access_lines(caplog)
    assert len(lines) == 1, lines
    line = lines[0]
    assert line["method"] == method and line["status"] == status
    assert isinstance(line["latency_ms"], int | float) and line["latency_ms"] >= 0
    assert QUESTION not in caplog.text and "企15" not in caplog.text  # no question text, in any logger
    assert TOKEN not in caplog.text  # no secret, in any logger
    if path == "/ask" and status == 200:
        assert line["question_chars"] == len(QUESTION) and isinstance(line["answerable"], bool)


def test_log_lines_are_json_with_known_keys_only(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger=ACCESS):
        client.post(
            "/ask", json={"question": QUESTION, "history": [{"role": "user", "content": "秘密のメモ"}]}
        )
    (line,) = _access_lines(caplog)
    assert set(line) <= {"method", "path", "status", "latency_ms", "question_chars", "answerable"}
    assert "秘密のメモ" not in caplog.text


@pytest.mark.server
def test_cli_serve_writes_the_access_log_to_stderr(built_data_dir: Path, tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "POLICY_ASSISTANT_ADMIN_TOKEN": TOKEN,
        "POLICY_ASSISTANT_LLM_API_KEY": "sk-never-log-me",
    }
    err_path = tmp_path / "stderr.txt"
    with open(err_path, "w") as err:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "assistant.cli",
                "serve",
                "--data-dir",
                str(built_data_dir),
                "--port",
                str(port),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, err_path.read_text()
            assert time.monotonic() < deadline, "server did not start"
            try:
                if httpx.get(f"{base}/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        assert httpx.post(f"{base}/ask", json={"question": QUESTION}, timeout=60).status_code == 200
        httpx.post(f"{base}/admin/reindex", headers={"Authorization": "Bearer wrong"}, timeout=30)
        time.sleep(0.5)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    text = err_path.read_text(encoding="utf-8")
    lines = [json.loads(x[x.index("{") :]) for x in text.splitlines() if '"latency_ms"' in x]
    ask = [x for x in lines if x.get("path") == "/ask"]
    assert ask and ask[0]["status"] == 200 and ask[0]["question_chars"] == len(QUESTION), text[-2000:]
    assert any(x.get("path") == "/admin/reindex" and x["status"] == 403 for x in lines), text[-2000:]
    for secret in (QUESTION, TOKEN, "sk-never-log-me"):
        assert secret not in text
