"""Load benchmark: N concurrent clients post mixed questions to `/ask` for a fixed time, then stop.

    python -m evals.load --data-dir var                  # starts `policy-assistant serve` on a free port
    python -m evals.load --url http://127.0.0.1:8000     # against a server that is already running

Each client (an asyncio task on one httpx.AsyncClient) posts the next question of evals/questions.jsonl
(every kind, follow-ups with their history, in a fixed shuffled order) as soon as its previous answer
arrives. Requests still in flight at the deadline are awaited (bounded by the timeout) and counted.
Records throughput, p50/p95/p99/max latency and errors (any non-200 or transport error); prints a markdown
table and appends it to `--results` (default evals/LOAD.md). Exit code 1 when any request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from assistant.launch import stop_process

__all__ = ["LoadResult", "run_load", "format_table", "main"]

TARGET_P95_MS = 300.0


@dataclass
class LoadResult:
    clients: int
    duration_s: float
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    answerable: int = 0
    loadavg: tuple[float, float] = (0.0, 0.0)  # 1-minute load average at the start and at the end

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    @property
    def failed(self) -> int:
        return sum(self.errors.values())

    def pct(self, p: float) -> float:
        if not self.latencies_ms:
            return 0.0
        s = sorted(self.latencies_ms)
        return s[min(len(s) - 1, max(0, math.ceil(p / 100 * len(s)) - 1))]  # nearest-rank


def load_payloads(path: Path, seed: int = 0) -> list[dict]:
    """Every question of the set as an /ask payload (history kept), in a fixed shuffled order."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            q = json.loads(line)
            payload = {"question": q["question"]}
            if q.get("history"):
                payload["history"] = q["history"]
            out.append(payload)
    if not out:
        raise SystemExit(f"error: no questions in {path}; pass --questions with a JSONL file of questions")
    random.Random(seed).shuffle(out)
    return out


async def run_load(
    url: str, payloads: Sequence[dict], *, clients: int = 16, duration: float = 60.0, timeout: float = 60.0
) -> LoadResult:
    """`clients` closed-loop clients posting to `{url}/ask` until `duration` seconds have passed."""
    result = LoadResult(clients, duration)
    counter = iter(range(10**12))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits) as http:
        t_start = time.perf_counter()
        deadline = t_start + duration

        async def client() -> None:
            while time.perf_counter() < deadline:
                payload = payloads[next(counter) % len(payloads)]
                t0 = time.perf_counter()
                try:
                    r = await http.post("/ask", json=payload)
                except httpx.HTTPError as exc:
                    result.errors[type(exc).__name__] += 1
                    result.latencies_ms.append((time.perf_counter() - t0) * 1000)
                    continue
                result.latencies_ms.append((time.perf_counter() - t0) * 1000)
                result.statuses[r.status_code] += 1
                if r.status_code != 200:
                    result.errors[f"HTTP {r.status_code}"] += 1
                elif r.json().get("answerable"):
                    result.answerable += 1

        load_start = _loadavg()
        await asyncio.gather(*(client() for _ in range(clients)))
        result.duration_s = time.perf_counter() - t_start
        result.loadavg = (load_start, _loadavg())
    return result


def _loadavg() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:  # not available on this platform
        return 0.0


def format_table(r: LoadResult, label: str) -> str:
    ok = r.failed == 0 and r.pct(95) < TARGET_P95_MS
    errors = ", ".join(f"{k}: {v}" for k, v in sorted(r.errors.items())) or "none"
    rows = [
        ("date", time.strftime("%Y-%m-%d %H:%M %Z")),
        ("target", label),
        ("machine", f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"),
        (
            "machine load",
            f"1-min load average {r.loadavg[0]:.1f} at start, {r.loadavg[1]:.1f} at end "
            "(server and load client share the machine)",
        ),
        ("clients", str(r.clients)),
        ("duration", f"{r.duration_s:.1f} s"),
        ("requests", str(r.requests)),
        ("throughput", f"{r.requests / r.duration_s:.1f} req/s" if r.duration_s else "-"),
        ("latency p50", f"{r.pct(50):.0f} ms"),
        ("latency p95", f"{r.pct(95):.0f} ms"),
        ("latency p99", f"{r.pct(99):.0f} ms"),
        ("latency max", f"{max(r.latencies_ms, default=0):.0f} ms"),
        ("errors", f"{r.failed} ({errors})"),
        ("answerable", f"{r.answerable} of {r.statuses.get(200, 0)} answers"),
        (
            "target met",
            f"{'yes' if ok else 'no'} (zero errors and p95 < {TARGET_P95_MS:.0f} ms)",
        ),
    ]
    lines = ["| measure | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows]
    return "\n".join(lines)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVER_ENV = {"POLICY_ASSISTANT_RATE_LIMIT_PER_MINUTE": "0"}  # the benchmark is one client address


@contextlib.contextmanager
def _server(data_dir: Path, startup_timeout: float = 180, *, workers: int = 1) -> Iterator[str]:
    """`policy-assistant serve [--workers N]` on a free loopback port, with `SERVER_ENV` (every load client
    shares one address, so the per-client rate limit would answer the benchmark with 429); stopped (SIGTERM)
    on exit."""
    port = _free_port()
    cmd = [sys.executable, "-m", "assistant.cli", "serve", "--data-dir", str(data_dir), "--port", str(port)]
    cmd += ["--workers", str(workers)] if workers > 1 else []
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **SERVER_ENV},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if proc.poll() is not None:
                raise SystemExit(
                    f"error: the server exited with code {proc.returncode}; run "
                    f"`policy-assistant serve --data-dir {data_dir}` to see why"
                )
            if time.monotonic() > deadline:
                raise SystemExit(f"error: the server did not answer /health within {startup_timeout:.0f} s")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                    break
            time.sleep(0.2)
        yield url
    finally:
        stop_process(proc)


def _warm_up(url: str, payloads: Sequence[dict]) -> None:
    with httpx.Client(base_url=url, timeout=60) as http:
        for p in payloads[:3]:
            http.post("/ask", json=p)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.load", description=__doc__.split("\n\n")[0])
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="base URL of a running server, e.g. http://127.0.0.1:8000")
    where.add_argument("--data-dir", type=Path, help="start `policy-assistant serve` on this data dir")
    ap.add_argument("--clients", type=int, default=16, help="concurrent clients [16]")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of load [60]")
    ap.add_argument("--questions", type=Path, default=Path("evals/questions.jsonl"))
    ap.add_argument("--results", type=Path, default=Path("evals/LOAD.md"), help="markdown file to append to")
    ap.add_argument("--timeout", type=float, default=60.0, help="per-request timeout in seconds [60]")
    args = ap.parse_args(argv)
    if args.clients < 1 or args.duration <= 0:
        ap.error("--clients must be >= 1 and --duration > 0")
    payloads = load_payloads(args.questions)
    with contextlib.ExitStack() as stack:
        url = args.url or stack.enter_context(_server(args.data_dir))
        _warm_up(url, payloads)
        result = asyncio.run(
            run_load(url, payloads, clients=args.clients, duration=args.duration, timeout=args.timeout)
        )
    label = f"POST /ask on {url} ({'policy-assistant serve' if args.data_dir else 'running server'})"
    table = format_table(result, label)
    print(table)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    header = "" if args.results.exists() else "# Load benchmark (`python -m evals.load`)\n"
    with open(args.results, "a", encoding="utf-8") as fh:
        fh.write(
            f"{header}\n## {time.strftime('%Y-%m-%d %H:%M')}: {args.clients} clients, {args.duration:g} s\n\n"
        )
        fh.write(table + "\n")
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
