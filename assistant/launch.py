"""Start the Streamlit UI (`policy-assistant ui`) or the API and the UI together (`policy-assistant demo`).

Both bind to 127.0.0.1 only. `run_demo` waits (bounded) until `GET /health` of the API and
`GET /_stcore/health` of Streamlit answer, prints both URLs, and on Ctrl-C / SIGTERM stops each child by
its own PID (SIGTERM, then SIGKILL after a grace period), so no server is left behind. If the API process
dies, `run_demo` restarts it once and keeps the UI up (the UI tells users the service is unavailable meanwhile).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import httpx

__all__ = ["run_ui", "run_demo", "ui_command", "api_command", "stop_process", "APP_PATH", "READY_TIMEOUT_S"]

APP_PATH = Path(__file__).resolve().parent.parent / "ui" / "app.py"
HOST = "127.0.0.1"
READY_TIMEOUT_S = 180.0  # the default of Settings.ready_timeout (POLICY_ASSISTANT_READY_TIMEOUT)
STOP_GRACE_S = 10.0
API_RESTARTS = 1  # `demo` restarts an API that dies this many times; the UI stays up either way


def ui_command(port: int) -> list[str]:
    """The `streamlit run` command line for the UI on loopback `port`."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_PATH),
        "--server.headless",
        "true",
        "--server.address",
        HOST,
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "minimal",
    ]


def api_command(data_dir: Path, port: int) -> list[str]:
    """The `policy-assistant serve` command line (run through this interpreter) for loopback `port`."""
    return [
        sys.executable,
        "-c",
        "from assistant.cli import app; app(prog_name='policy-assistant')",
        "serve",
        "--data-dir",
        str(data_dir),
        "--host",
        HOST,
        "--port",
        str(port),
    ]


def _ui_env(api_url: str) -> dict[str, str]:
    return os.environ | {"POLICY_ASSISTANT_API_URL": api_url, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def stop_process(proc: subprocess.Popen[bytes]) -> int:
    """Stop one child by its own PID: SIGTERM, wait, then SIGKILL. Returns its exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


class _Stop(Exception):
    """Raised in the main thread by the SIGINT/SIGTERM handler."""


@contextmanager
def _stop_on_signals() -> Iterator[None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise _Stop(signal.Signals(signum).name)

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def run_ui(port: int, api_url: str) -> int:
    """Run the Streamlit UI on 127.0.0.1:`port` against the API at `api_url`; returns streamlit's exit code."""
    if not _port_free(port):
        print(f"error: port {port} on {HOST} is in use; pick another with --port", file=sys.stderr)
        return 2
    print(f"UI:  http://{HOST}:{port}  (API: {api_url}; Ctrl-C stops)", flush=True)
    proc = subprocess.Popen(ui_command(port), env=_ui_env(api_url), start_new_session=True)
    try:
        with _stop_on_signals():
            return proc.wait()
    except _Stop:
        stop_process(proc)
        return 0


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def _wait_ready(procs: dict[str, tuple[subprocess.Popen[bytes], str]], timeout: float) -> str | None:
    """Wait until every health URL answers 200; returns an error text, or None when all are ready."""
    pending = dict(procs)
    deadline = time.monotonic() + timeout
    while pending:
        for name, (proc, url) in list(pending.items()):
            if proc.poll() is not None:
                return f"the {name} exited with code {proc.returncode} before it was ready (see its output above)"
            if _healthy(url):
                del pending[name]
        if time.monotonic() > deadline:
            names = ", ".join(f"{n} ({u})" for n, (_, u) in pending.items())
            return (
                f"not ready after {timeout:.0f} s: {names}; raise POLICY_ASSISTANT_READY_TIMEOUT "
                "or check the output above"
            )
        time.sleep(0.3)
    return None


def run_demo(data_dir: Path, api_port: int, ui_port: int, ready_timeout: float = READY_TIMEOUT_S) -> int:
    """Serve the API (`data_dir`) and the UI on loopback until Ctrl-C/SIGTERM; returns 0 on a clean stop.

    Both must answer their health checks within `ready_timeout` seconds (Settings.ready_timeout)."""
    busy = [f"{what} port {p}" for what, p in (("API", api_port), ("UI", ui_port)) if not _port_free(p)]
    if busy:
        print(
            f"error: {', '.join(busy)} on {HOST} in use; pick others with --api-port / --ui-port",
            file=sys.stderr,
        )
        return 2
    api_url, ui_url = f"http://{HOST}:{api_port}", f"http://{HOST}:{ui_port}"
    children: list[subprocess.Popen[bytes]] = []
    api: subprocess.Popen[bytes] | None
    try:
        with _stop_on_signals():
            api = subprocess.Popen(api_command(Path(data_dir), api_port), start_new_session=True)
            children.append(api)
            ui = subprocess.Popen(ui_command(ui_port), env=_ui_env(api_url), start_new_session=True)
            children.append(ui)
            print(f"starting the API ({api_url}) and the UI ({ui_url}) ...", flush=True)
            error = _wait_ready(
                {"API": (api, f"{api_url}/health"), "UI": (ui, f"{ui_url}/_stcore/health")}, ready_timeout
            )
            if error:
                print(f"error: {error}", file=sys.stderr)
                return 1
            print(f"API: {api_url}  (docs: {api_url}/docs)\nUI:  {ui_url}\nCtrl-C stops both.", flush=True)
            restarts = 0
            while True:
                if ui.poll() is not None:
                    print(f"error: the UI exited with code {ui.returncode}; stopping", file=sys.stderr)
                    return ui.returncode or 1
                if api is not None and api.poll() is not None:
                    if restarts < API_RESTARTS:
                        restarts += 1
                        print(
                            f"warning: the API exited with code {api.returncode}; restarting it",
                            file=sys.stderr,
                        )
                        api = subprocess.Popen(api_command(Path(data_dir), api_port), start_new_session=True)
                        children.append(api)
                    else:
                        print(
                            f"error: the API exited again with code {api.returncode}; the UI stays up and tells "
                            "users the service is unavailable; fix the API and restart `policy-assistant demo`",
                            file=sys.stderr,
                        )
                        api = None
                time.sleep(0.5)
    except _Stop:
        print("stopping the API and the UI ...", flush=True)
        return 0
    finally:
        with _ignore_signals():
            for proc in reversed(children):
                stop_process(proc)


@contextmanager
def _ignore_signals() -> Iterator[None]:
    """While children are being stopped, a second Ctrl-C must not leave one of them running."""
    old = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
