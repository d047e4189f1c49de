"""Flood benchmark: does the service stay up when clients send more than it can answer?

    python -m evals.flood --data-dir var          # both runs below; appends the tables to evals/LOAD.md

1. Flood: 64 closed-loop clients post unique 2,000-character questions to `/ask` for 30 s against
   `policy-assistant serve --workers 2`, while a probe gets `/health` every 100 ms. Passes when the probe's p95 is
   under 100 ms throughout and no response is a 5xx other than 503 carrying `Retry-After`.
2. Scaling: unique-question throughput at 16 clients for 30 s, 1 worker vs 2 workers (every question is made
   unique, so the query-vector cache never answers for the embedder).
Servers run on 127.0.0.1 only, with the per-client rate limit off (every load client shares one address); the
concurrency limit and queue are the defaults. Every run is bounded in time and in requests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from evals.load import LoadResult, _loadavg, _server, _warm_up, load_payloads

__all__ = ["FloodResult", "flood", "unique_payloads", "main"]

HEALTH_P95_MS = 100.0
FILLER = "県のデジタル化の取組と目標指標の達成状況について、担当所属の説明と根拠の資料を合わせて確認したい。"


@dataclass
class FloodResult:
    asks: LoadResult
    health_ms: list[float] = field(default_factory=list)
    health_statuses: Counter = field(default_factory=Counter)
    bad_5xx: int = 0  # 5xx other than 503 + Retry-After
    missing_retry_after: int = 0

    def health_pct(self, p: float) -> float:
        return LoadResult(0, 0, latencies_ms=self.health_ms).pct(p)

    @property
    def passed(self) -> bool:
        return (
            self.health_pct(95) < HEALTH_P95_MS
            and self.bad_5xx == 0
            and self.missing_retry_after == 0
            and set(self.health_statuses) == {200}
        )


class unique_payloads(Sequence[dict]):  # noqa: N801 - used like a function returning a list
    """`n` payloads made on demand, each question unique by a leading serial number (and padded to `chars`)."""

    def __init__(self, payloads: list[dict], n: int, chars: int | None = None) -> None:
        self.payloads, self.n, self.chars = payloads, n, chars

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):  # type: ignore[no-untyped-def, override]
        p = dict(self.payloads[i % len(self.payloads)])
        q = f"{i:06d} {p['question']}"
        if self.chars:
            q = (q + " " + FILLER * (self.chars // len(FILLER) + 1))[: self.chars]
        return {**p, "question": q}


async def flood(
    url: str, payloads: Sequence[dict], *, clients: int, duration: float, timeout: float = 60.0
) -> FloodResult:
    """`clients` closed-loop /ask clients plus a /health probe every 100 ms, for `duration` seconds."""
    res = FloodResult(LoadResult(clients, duration))
    counter = iter(range(len(payloads)))
    limits = httpx.Limits(max_connections=clients + 1, max_keepalive_connections=clients + 1)
    async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits) as http:
        t_start = time.perf_counter()
        deadline = t_start + duration

        async def asker() -> None:
            while time.perf_counter() < deadline:
                payload = payloads[next(counter, 0) % len(payloads)]
                t0 = time.perf_counter()
                try:
                    r = await http.post("/ask", json=payload)
                except httpx.HTTPError as exc:
                    res.asks.errors[type(exc).__name__] += 1
                    continue
                finally:
                    res.asks.latencies_ms.append((time.perf_counter() - t0) * 1000)
                res.asks.statuses[r.status_code] += 1
                if r.status_code >= 500 and r.status_code != 503:
                    res.bad_5xx += 1
                if r.status_code in (429, 503):
                    res.missing_retry_after += "retry-after" not in r.headers
                    await asyncio.sleep(float(r.headers.get("retry-after", 1)))
                elif r.status_code == 200 and r.json().get("answerable"):
                    res.asks.answerable += 1

        def probe() -> None:
            """In its own thread and connection, so the askers' event loop does not delay it."""
            with httpx.Client(base_url=url, timeout=timeout) as own:
                while time.perf_counter() < deadline:
                    t0 = time.perf_counter()
                    try:
                        r = own.get("/health")
                        res.health_statuses[r.status_code] += 1
                    except httpx.HTTPError as exc:
                        res.health_statuses[type(exc).__name__] += 1
                    res.health_ms.append((time.perf_counter() - t0) * 1000)
                    time.sleep(max(0.0, 0.1 - (time.perf_counter() - t0)))

        start = _loadavg()
        await asyncio.gather(asyncio.to_thread(probe), *(asker() for _ in range(clients)))
        res.asks.duration_s = time.perf_counter() - t_start
        res.asks.loadavg = (start, _loadavg())
    return res


def _table(rows: list[tuple[str, str]]) -> str:
    return "\n".join(["| measure | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows])


def flood_table(r: FloodResult, workers: int, chars: int) -> str:
    a = r.asks
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(a.statuses.items())) or "none"
    return _table(
        [
            (
                "target",
                f"`serve --workers {workers}`, {a.clients} clients of {chars}-character unique questions",
            ),
            ("machine load", f"1-min load average {a.loadavg[0]:.1f} at start, {a.loadavg[1]:.1f} at end"),
            ("duration", f"{a.duration_s:.1f} s"),
            ("/ask responses", f"{a.requests} ({statuses}; transport errors: {dict(a.errors) or 'none'})"),
            ("/ask latency p50 / p95", f"{a.pct(50):.0f} ms / {a.pct(95):.0f} ms"),
            ("/health probes", f"{len(r.health_ms)} ({dict(r.health_statuses)})"),
            (
                "/health p50 / p95 / max",
                f"{r.health_pct(50):.0f} / {r.health_pct(95):.0f} / {max(r.health_ms, default=0):.0f} ms",
            ),
            ("5xx other than 503", str(r.bad_5xx)),
            ("429/503 without Retry-After", str(r.missing_retry_after)),
            ("passed", f"{'yes' if r.passed else 'no'} (/health p95 < {HEALTH_P95_MS:.0f} ms, no other 5xx)"),
        ]
    )


def scaling_table(runs: dict[int, LoadResult]) -> str:
    rows = [("workers", "throughput, p50 / p95, errors, load average start/end")]
    for workers, r in sorted(runs.items()):
        tput = r.statuses.get(200, 0) / r.duration_s if r.duration_s else 0.0
        rows.append(
            (
                str(workers),
                f"{tput:.1f} unique answers/s, {r.pct(50):.0f} / {r.pct(95):.0f} ms, {r.failed} errors, "
                f"{r.loadavg[0]:.1f}/{r.loadavg[1]:.1f}",
            )
        )
    return "\n".join(
        ["| " + " | ".join(rows[0]) + " |", "|---|---|"] + [f"| {a} | {b} |" for a, b in rows[1:]]
    )


def main(argv: list[str] | None = None) -> int:
    from evals.load import run_load

    ap = argparse.ArgumentParser(prog="python -m evals.flood", description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--data-dir", type=Path, required=True, help="start `policy-assistant serve` on this data dir"
    )
    ap.add_argument("--clients", type=int, default=64, help="flood clients [64]")
    ap.add_argument("--chars", type=int, default=2000, help="characters per flood question [2000]")
    ap.add_argument("--duration", type=float, default=30.0, help="seconds per run [30]")
    ap.add_argument("--scaling-clients", type=int, default=16, help="clients of the scaling runs [16]")
    ap.add_argument("--questions", type=Path, default=Path("evals/questions.jsonl"))
    ap.add_argument("--results", type=Path, default=Path("evals/LOAD.md"))
    args = ap.parse_args(argv)
    base = load_payloads(args.questions)
    cap = 100_000  # more unique questions than any run can send
    out = [f"\n### {time.strftime('%Y-%m-%d %H:%M')}: flood and worker scaling (`python -m evals.flood`)\n"]
    with _server(args.data_dir, workers=2) as url:
        _warm_up(url, base)
        fl = asyncio.run(
            flood(url, unique_payloads(base, cap, args.chars), clients=args.clients, duration=args.duration)
        )
    out += ["#### Flood\n", flood_table(fl, 2, args.chars), ""]
    runs = {}
    for workers in (1, 2):
        with _server(args.data_dir, workers=workers) as url:
            _warm_up(url, base)
            payloads = unique_payloads(base, cap)
            runs[workers] = asyncio.run(
                run_load(url, payloads, clients=args.scaling_clients, duration=args.duration)
            )
    out += [
        f"#### Unique-question throughput, {args.scaling_clients} clients, {args.duration:g} s\n",
        scaling_table(runs),
        "",
    ]
    text = "\n".join(out)
    print(text)
    with contextlib.suppress(FileNotFoundError), open(args.results, "a", encoding="utf-8") as fh:
        fh.write(text + "\n")
    return 0 if fl.passed else 1


if __name__ == "__main__":
    sys.exit(main())
