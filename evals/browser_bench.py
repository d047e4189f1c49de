"""Real-browser helpers (Debian's headless Chromium driven by Selenium) and the first-paint benchmark.

`python -m evals.browser_bench --data-dir var --runs 5` starts the API and the Streamlit UI on free loopback
ports, waits until both answer their health URLs, then opens the chat page `runs` times, each time in a new
Chromium with an empty profile (cold cache), and prints per run:

- `fcp_ms`: the First Contentful Paint (`performance.getEntriesByType('paint')`), ms after navigation start;
- `chat_input_ms`: when the chat input became visible (a MutationObserver installed before the page's own
  scripts records `performance.now()`), ms after navigation start.

The browser is the system one (`/usr/bin/chromium`, `/usr/bin/chromedriver` from Debian's packages); the
driver path is passed explicitly, so Selenium Manager never runs and nothing is downloaded.
`tests/test_browser.py` uses the same helpers (its screenshots go to the git-ignored `test-artifacts/`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from assistant.config import Settings
from assistant.launch import api_command, stop_process, ui_command

__all__ = [
    "CHROMIUM",
    "CHROMEDRIVER",
    "APT_HINT",
    "CHAT_INPUT",
    "Stack",
    "missing_browser",
    "free_port",
    "serve_stack",
    "chromium",
    "measure_first_paint",
    "main",
]

CHROMIUM = str(Settings().chromium)  # POLICY_ASSISTANT_CHROMIUM
CHROMEDRIVER = str(Settings().chromedriver)  # POLICY_ASSISTANT_CHROMEDRIVER
APT_HINT = "apt-get update && apt-get install -y --no-install-recommends chromium chromium-driver fonts-ipafont-gothic"
CHAT_INPUT = 'textarea[data-testid="stChatInputTextArea"]'
# Without the background-networking flags Chromium keeps dialing Google hosts that this closed network refuses.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--lang=ja",
)
READY_TIMEOUT_S = 180.0

# Runs before the page's scripts: records when the chat input first becomes visible.
_OBSERVE_CHAT_INPUT = """
(() => {
  const seen = () => {
    const el = document.querySelector('__SELECTOR__');
    if (el && el.getClientRects().length && window.__chatInputAt === undefined) {
      window.__chatInputAt = performance.now();
    }
    return window.__chatInputAt !== undefined;
  };
  const start = () => {
    if (seen()) return;
    const obs = new MutationObserver(() => { if (seen()) obs.disconnect(); });
    obs.observe(document.documentElement, {childList: true, subtree: true, attributes: true});
  };
  if (document.documentElement) start(); else document.addEventListener('readystatechange', start, {once: true});
})();
""".replace("__SELECTOR__", CHAT_INPUT.replace("'", "\\'"))


def missing_browser() -> str | None:
    """None when Chromium and ChromeDriver are installed, else what is missing and the command to run."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not (Path(p).is_file() and os.access(p, os.X_OK))]
    if not missing:
        return None
    return f"{' and '.join(missing)} not found; install Debian's browser with: {APT_HINT}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Stack:
    api_url: str
    ui_url: str
    pids: tuple[int, ...]


def _wait_healthy(procs: dict[str, tuple[subprocess.Popen[bytes], str, Path]], timeout: float) -> None:
    pending = dict(procs)
    deadline = time.monotonic() + timeout
    while pending:
        for name, (proc, url, log) in list(pending.items()):
            if proc.poll() is not None:
                raise RuntimeError(
                    f"the {name} exited with code {proc.returncode} before {url} answered; see {log}"
                )
            try:
                if httpx.get(url, timeout=2.0).status_code == 200:
                    del pending[name]
            except httpx.HTTPError:
                pass
        if pending and time.monotonic() > deadline:
            names = ", ".join(f"{n} ({u}, log {lg})" for n, (_, u, lg) in pending.items())
            raise RuntimeError(f"not healthy after {timeout:.0f} s: {names}")
        time.sleep(0.3)


@contextmanager
def serve_stack(data_dir: Path, log_dir: Path, timeout: float = READY_TIMEOUT_S) -> Iterator[Stack]:
    """The real API (`data_dir`) and the real Streamlit UI on free loopback ports; both stopped by PID on exit."""
    log_dir.mkdir(parents=True, exist_ok=True)
    api_port, ui_port = free_port(), free_port()
    api_url, ui_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{ui_port}"
    env = os.environ | {"POLICY_ASSISTANT_API_URL": api_url, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    children: list[subprocess.Popen[bytes]] = []
    try:
        specs = (
            ("API", api_command(data_dir, api_port), f"{api_url}/health"),
            ("UI", ui_command(ui_port), f"{ui_url}/_stcore/health"),
        )
        waits = {}
        for name, cmd, health in specs:
            log = log_dir / f"{name.lower()}.log"
            with log.open("wb") as out:
                proc = subprocess.Popen(
                    cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
                )
            children.append(proc)
            waits[name] = (proc, health, log)
        _wait_healthy(waits, timeout)
        yield Stack(api_url, ui_url, tuple(p.pid for p in children))
    finally:
        for proc in reversed(children):
            stop_process(proc)


@contextmanager
def chromium(width: int = 1280, height: int = 1800) -> Iterator[Any]:
    """A headless system Chromium with a new empty profile, quit (with its driver) on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    problem = missing_browser()
    if problem:
        raise RuntimeError(problem)
    profile = Path(tempfile.mkdtemp(prefix="pa-chromium-"))
    opts = Options()
    opts.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    try:
        driver.set_window_size(width, height)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def measure_first_paint(ui_url: str, timeout: float = 30.0) -> dict[str, float]:
    """One cold page load in a new browser: First Contentful Paint and chat-input-visible, ms after navigation."""
    with chromium() as driver:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _OBSERVE_CHAT_INPUT})
        driver.get(ui_url)
        deadline = time.monotonic() + timeout
        while True:
            got = driver.execute_script(
                "const p = performance.getEntriesByName('first-contentful-paint')[0];"
                "return [p ? p.startTime : null, window.__chatInputAt ?? null];"
            )
            if None not in got:
                return {"fcp_ms": round(got[0], 1), "chat_input_ms": round(got[1], 1)}
            if time.monotonic() > deadline:
                raise RuntimeError(f"no first paint / chat input within {timeout:.0f} s at {ui_url}: {got}")
            time.sleep(0.05)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Settings().data_dir)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    problem = missing_browser()
    if problem:
        print(f"error: {problem}")
        return 2
    with (
        tempfile.TemporaryDirectory(prefix="pa-bench-logs-") as logs,
        serve_stack(args.data_dir, Path(logs)) as st,
    ):
        runs = [measure_first_paint(st.ui_url) for _ in range(args.runs)]
    for i, r in enumerate(runs, start=1):
        print(json.dumps({"run": i, **r}))
    for key in ("fcp_ms", "chat_input_ms"):
        values = [r[key] for r in runs]
        later = values[1:] or values  # run 1 is the first session of the new server (cold imports)
        print(
            f"{key}: median {statistics.median(values):.0f} ms, max {max(values):.0f} ms (n={len(values)}); "
            f"first view {values[0]:.0f} ms, later views max {max(later):.0f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
