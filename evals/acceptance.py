"""The acceptance questions written outside the team (../shared/evals/acceptance.jsonl), scored per half.

The scoring is the one of ../shared/evals/score.py (same normalisation, same rules), run in-process against an
`Assistant` so a development loop takes seconds; `make eval` also runs score.py itself over HTTP. Odd-numbered
lines are the development half, even-numbered lines the held-out half: develop on `--half odd` only.

    python -m evals.acceptance --data-dir var [--half odd|even|all] [--show-fail]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = [
    "load_items",
    "score_items",
    "ACCEPTANCE",
    "PROBE",
    "PROBE2",
    "PROBE3",
    "PROBE4",
    "PROBE5",
    "PROBE6",
    "PROBE7",
    "PROBE8",
    "PROBES",
    "PARAPHRASES",
]

ACCEPTANCE = Path(__file__).resolve().parent.parent.parent / "shared" / "evals" / "acceptance.jsonl"
PROBE = Path(__file__).resolve().parent / "probe.jsonl"  # a second outside sample (evals/README.md)
PROBE2 = Path(__file__).resolve().parent / "probe2.jsonl"  # a third, by another writer (evals/README.md)
PROBE3 = Path(__file__).resolve().parent / "probe3.jsonl"  # unanswerable questions and look-alikes (README)
PROBE4 = Path(__file__).resolve().parent / "probe4.jsonl"  # two more writers, the weakest kinds (README)
PROBE5 = Path(__file__).resolve().parent / "probe5.jsonl"  # everyday words; a planner's compound questions
PROBE6 = Path(__file__).resolve().parent / "probe6.jsonl"  # two writers, the acceptance file's kind mix
PROBE7 = Path(__file__).resolve().parent / "probe7.jsonl"  # two writers, 2026-12-04: developed on (all lines)
PROBE8 = Path(__file__).resolve().parent / "probe8.jsonl"  # two writers, 2026-12-04: chat-box wording
PROBE9 = (
    Path(__file__).resolve().parent / "probe9.jsonl"
)  # two writers, 2026-12-04: the kinds weak on the even half
PROBES = (PROBE, PROBE2, PROBE3, PROBE4, PROBE5, PROBE6, PROBE7, PROBE8, PROBE9)
PARAPHRASES = (  # two rewordings per odd line: of acceptance and probe, of probe2 and probe3
    Path(__file__).resolve().parent / "paraphrases.jsonl",
    Path(__file__).resolve().parent / "paraphrases2.jsonl",
)
Ask = Callable[[str, list[dict[str, str]]], dict[str, Any]]


def norm(s: str) -> str:
    s = unicodedata.normalize("NFKC", s or "")
    s = re.sub(r"(?<=\d),(?=\d{3})", "", s)
    s = re.sub(r"\s+", "", s)
    return s.lower()


def load_items(path: Path, half: str = "all") -> list[dict[str, Any]]:
    lines = [x for x in Path(path).read_text(encoding="utf-8").splitlines() if x.strip()]
    keep = {"odd": 1, "even": 0}.get(half)
    return [json.loads(x) for i, x in enumerate(lines, 1) if keep is None or i % 2 == keep]


def score_items(items: list[dict[str, Any]], ask: Ask) -> dict[str, Any]:
    """score.py's metrics for `items`, asking through `ask(question, history)`."""
    per_kind: dict[str, list[int]] = {}
    lat: list[float] = []
    fails = []
    cite_ok = cite_n = direct_ok = direct_n = false_abstain = 0
    for it in items:
        history: list[dict[str, str]] = []
        for turn in it.get("turns", [])[:-1]:
            d0 = ask(turn, history)
            history += [
                {"role": "user", "content": turn},
                {"role": "assistant", "content": d0.get("answer", "")},
            ]
        t = time.perf_counter()
        data = ask(it["q"], history)
        lat.append((time.perf_counter() - t) * 1000)
        ans, answerable = norm(data.get("answer", "")), data.get("answerable", True)
        if not it["must"]:
            ok = answerable is False
        else:
            ok = answerable is not False and all(any(norm(a) in ans for a in g) for g in it["must"])
            false_abstain += answerable is False
            direct_n += 1
            direct_ok += answerable is not False and all(
                any(norm(a) in ans[:200] for a in g) for g in it["must"]
            )
            if it.get("cite"):
                cite_n += 1
                got = {norm(c.get("measure_id") or "") for c in data.get("citations", [])}
                cite_ok += all(norm(c) in got or norm(c) in ans for c in it["cite"])
        k = per_kind.setdefault(it["kind"], [0, 0])
        k[0] += ok
        k[1] += 1
        if not ok:
            fails.append((it["id"], it["q"], data.get("answer", "")[:200]))
    answerable_kinds = [v for k, v in per_kind.items() if k != "unanswerable"]
    ua = per_kind.get("unanswerable", [0, 0])
    return {
        "n": len(items),
        "answer_accuracy": round(
            sum(a for a, _ in answerable_kinds) / max(1, sum(n for _, n in answerable_kinds)), 3
        ),
        "abstain_accuracy": round(ua[0] / ua[1], 3) if ua[1] else None,
        "false_abstentions": false_abstain,
        "citation_accuracy": round(cite_ok / cite_n, 3) if cite_n else None,
        "direct_accuracy": round(direct_ok / direct_n, 3) if direct_n else None,
        "latency_ms_p50": round(statistics.median(lat), 1) if lat else None,
        "latency_ms_p95": round(sorted(lat)[int(0.95 * (len(lat) - 1))], 1) if lat else None,
        "per_kind": {k: f"{a}/{n}" for k, (a, n) in sorted(per_kind.items())},
        "fails": fails,
    }


def assistant_asker(data_dir: Path) -> Ask:
    from assistant.schemas import AskRequest, Turn
    from assistant.service import Assistant

    bot = Assistant.open(data_dir)

    def ask(q: str, history: list[dict[str, str]]) -> dict[str, Any]:
        req = AskRequest(question=q, history=[Turn(**t) for t in history])
        return bot.ask(req).model_dump()

    return ask


def _scored_over_http(data_dir: Path, items: list[dict[str, Any]]) -> dict[str, Any]:
    """../shared/evals/score.py itself, against the real app served on loopback (a thread)."""
    import socket
    import subprocess
    import sys
    import tempfile
    import threading

    import uvicorn

    from assistant.api import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(create_app(data_dir), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the API server for the acceptance run did not start")
            time.sleep(0.1)
        with tempfile.TemporaryDirectory() as tmp:
            src, out = Path(tmp) / "set.jsonl", Path(tmp) / "out.json"
            src.write_text(
                "".join(json.dumps(it, ensure_ascii=False) + "\n" for it in items), encoding="utf-8"
            )
            scorer = ACCEPTANCE.parent / "score.py"
            subprocess.run(
                [sys.executable, str(scorer), f"http://127.0.0.1:{port}", str(src), "--json", str(out)],
                check=True,
                capture_output=True,
            )
            return json.loads(out.read_text(encoding="utf-8"))["summary"]
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def report(data_dir: Path, path: Path = ACCEPTANCE, whole: bool = False) -> str:
    """The RESULTS.md section: score.py over HTTP on each half and on the whole set (or, with `whole`, on the
    whole set only: the paraphrases, all of the development halves), and a line per kind."""
    halves = (
        {"all": "all"}
        if whole
        else {
            "development half (odd lines)": "odd",
            "held-out half (even lines)": "even",
            "all": "all",
        }
    )
    rows, kinds = [], {}
    for label, half in halves.items():
        r = _scored_over_http(Path(data_dir), load_items(path, half))
        kinds[label] = r["per_kind"]
        rows.append(
            f"| {label} | {r['n']} | {r['answer_accuracy']} | {r['abstain_accuracy']} | {r['citation_accuracy']} "
            f"| {r['direct_accuracy']} | {r['false_abstentions']} | {r['latency_ms_p50']} | {r['latency_ms_p95']} |"
        )
    names = sorted({k for v in kinds.values() for k in v})
    kind_rows = [f"| {n} | " + " | ".join(kinds[label].get(n, "-") for label in halves) + " |" for n in names]
    return "\n".join(
        [
            f"Scored by `{ACCEPTANCE.parent / 'score.py'}` over HTTP against this index (questions written outside the team;"
            " development happened on the odd lines only).",
            "",
            "| set | n | answer | abstain | citations | direct | false abstentions | p50 ms | p95 ms |",
            "|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            "| kind | " + " | ".join(halves) + " |",
            "|---|" + "---|" * len(halves),
            *kind_rows,
        ]
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=Path("var"))
    ap.add_argument("--file", type=Path, default=ACCEPTANCE)
    ap.add_argument("--half", choices=["odd", "even", "all"], default="odd")
    ap.add_argument("--show-fail", action="store_true")
    args = ap.parse_args()
    res = score_items(load_items(args.file, args.half), assistant_asker(args.data_dir))
    fails = res.pop("fails")
    if args.show_fail:
        for f in fails:
            print("FAIL", *f, sep=" | ")
    print(json.dumps(res, ensure_ascii=False))


if __name__ == "__main__":
    main()
