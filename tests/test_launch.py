"""`run_demo` serves the API and the UI on loopback, both answer their health checks, and Ctrl-C (SIGINT)
stops both: nothing is left listening and no child process survives."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from assistant.launch import run_demo, ui_command
from tests.conftest import free_port as _free_port

ROOT = Path(__file__).resolve().parents[1]
RUN_DEMO = (
    "import sys; from pathlib import Path; from assistant.launch import run_demo; "
    "sys.exit(run_demo(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])))"
)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _processes_mentioning(text: str) -> list[int]:
    """PIDs whose command line contains `text` (read from /proc; nothing is signalled)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in cmd:
                found.append(int(entry.name))
    return found


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"run_demo exited with {proc.returncode} before {url} answered"
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"{url} did not answer within {timeout} s")


@pytest.mark.slow
@pytest.mark.server
def test_demo_serves_api_and_ui_and_sigint_stops_both(built_data_dir: Path, tmp_path: Path) -> None:
    api_port, ui_port = _free_port(), _free_port()
    out = (tmp_path / "demo.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN_DEMO, str(built_data_dir), str(api_port), str(ui_port)],
        cwd=ROOT,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_healthy(f"http://127.0.0.1:{api_port}/health", proc)
        _wait_healthy(f"http://127.0.0.1:{ui_port}/_stcore/health", proc)
        deadline = time.monotonic() + 30
        while (
            b"Ctrl-C stops both" not in (tmp_path / "demo.log").read_bytes() and time.monotonic() < deadline
        ):
            time.sleep(0.2)
        log = (tmp_path / "demo.log").read_text(errors="replace")
        assert f"API: http://127.0.0.1:{api_port}" in log and f"UI:  http://127.0.0.1:{ui_port}" in log
        assert len(_processes_mentioning(f"--port {api_port}")) == 1  # the API child
        assert len(_processes_mentioning(f"--server.port {ui_port}")) == 1  # the UI child

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        out.close()
    assert not _listening(api_port) and not _listening(ui_port)
    assert _processes_mentioning(f"--port {api_port}") == []
    assert _processes_mentioning(f"--server.port {ui_port}") == []


def test_demo_refuses_a_port_in_use_and_names_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert run_demo(tmp_path, api_port=port, ui_port=_free_port()) == 2
    err = capsys.readouterr().err
    assert f"API port {port}" in err and "--api-port" in err


def test_ui_command_binds_loopback_headless_without_usage_stats() -> None:
    cmd = " ".join(ui_command(8599))
    for part in (
        "streamlit run",
        "ui/app.py",
        "--server.headless true",
        "--server.address 127.0.0.1",
        "--server.port 8599",
        "--browser.gatherUsageStats false",
    ):
        assert part in cmd
