"""Chroma vector store (ベクトルストア) for chunk embeddings, local (PersistentClient) or remote (HttpClient).

Every collection gets our own registered embedding function (`EmbedderFunction`, wrapping an `Embedder`
and using its query encoding for ``query_texts``), so Chroma never falls back to its default EF, which
would try to download an English model. Vectors are normally passed in precomputed. The collection
uses cosine space and its metadata records what produced the vectors (embedder name, dim, and the
versions the caller passes, e.g. chunker/tokenizer), so a mismatched index is refused, not silently mixed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import chromadb
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.config import Settings
from chromadb.errors import NotFoundError
from chromadb.utils.embedding_functions import register_embedding_function

from ingest.embed import Embedder, get_embedder

__all__ = ["VectorStore", "EmbedderFunction", "scalar_metadata", "STORE_SCHEMA_VERSION"]

SIMILARITY_DIGITS = 4  # similarities closer than this are a tie, broken by chunk id

STORE_SCHEMA_VERSION = 2
# The corpus is a few hundred chunks: a single-threaded build (hnswlib's seeded levels, our fixed insertion order)
# gives the same graph on every ingest, and a search list longer than the collection makes the search exhaustive,
# so two fresh ingests rank every query alike (a multithreaded build let the tail of the dense list differ).
HNSW = {"space": "cosine", "num_threads": 1, "ef_construction": 200, "ef_search": 1000, "max_neighbors": 32}
_SCALARS = (str, int, float, bool)


@register_embedding_function
class EmbedderFunction(EmbeddingFunction[Documents]):
    """Chroma EF adapter around an `Embedder`: documents -> passage, queries -> query encoding."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def __call__(self, input: Documents) -> Embeddings:
        return self.embedder.embed_batch(list(input), kind="passage")  # type: ignore[return-value]

    def embed_query(self, input: Documents) -> Embeddings:
        return self.embedder.embed_batch(list(input), kind="query")  # type: ignore[return-value]

    @staticmethod
    def name() -> str:
        return "policy-assistant-embedder"

    def get_config(self) -> dict[str, Any]:
        return {"spec": self.embedder.name}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> EmbedderFunction:
        return EmbedderFunction(get_embedder(str(config.get("spec", ""))))

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"

    def validate_config_update(self, old_config: dict[str, Any], new_config: dict[str, Any]) -> None:
        if old_config.get("spec") != new_config.get("spec"):
            raise ValueError(
                f"collection was built with embedder {old_config.get('spec')!r}, not {new_config.get('spec')!r}; "
                "fix: re-ingest into a new collection"
            )


def scalar_metadata(meta: dict[str, Any]) -> dict[str, str | int | float | bool]:
    """Chroma accepts scalar metadata only: lists become "|"-joined strings, dicts JSON, None is dropped."""
    out: dict[str, str | int | float | bool] = {}
    for key, value in meta.items():
        if value is None:
            continue
        if isinstance(value, _SCALARS):
            out[key] = value
        elif isinstance(value, (list, tuple, set)):
            out[key] = "|".join(str(v) for v in value)
        elif isinstance(value, dict):
            out[key] = json.dumps(value, ensure_ascii=False, sort_keys=True)
        else:
            out[key] = str(value)
    return out


def _make_client(path: Path | None, host: str | None, port: int | None) -> Any:
    settings = Settings(anonymized_telemetry=False)
    if host:
        return chromadb.HttpClient(host=host, port=port or 8000, settings=settings)
    if path is None:
        raise ValueError("VectorStore.open needs path= (local store) or host= (Chroma server); got neither")
    Path(path).mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=settings)


class VectorStore:
    """One Chroma collection of chunk vectors; similarity is cosine (1 - cosine distance)."""

    def __init__(self, collection: Any, embedder: Embedder | None = None) -> None:
        self.collection = collection
        self.embedder = embedder
        self._count: int | None = None

    @classmethod
    def open(
        cls,
        *,
        path: Path | None = None,
        host: str | None = None,
        port: int | None = None,
        collection: str,
        embedder: Embedder,
        create: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> VectorStore:
        """Open (or with `create=True`, get-or-create) `collection`; refuses one built by another embedder."""
        client = _make_client(path, host, port)
        ef = EmbedderFunction(embedder)
        wanted = scalar_metadata(
            {
                "embedder": embedder.name,
                "dim": embedder.dim,
                "store_schema": STORE_SCHEMA_VERSION,
                **(metadata or {}),
            }
        )
        where = f"{host}:{port}" if host else str(path)
        try:
            col = client.get_collection(collection, embedding_function=ef)
        except (NotFoundError, ValueError) as exc:
            if not create:
                raise ValueError(
                    f"collection {collection!r} not found at {where}; fix: run ingest first (or open with create=True)"
                ) from exc
            col = client.create_collection(
                collection,
                embedding_function=ef,
                configuration={"hnsw": HNSW},
                metadata=wanted,
            )
            return cls(col, embedder)
        have = dict(col.metadata or {})
        for key in ("embedder", "dim"):
            if key in have and have[key] != wanted[key]:
                raise ValueError(
                    f"collection {collection!r} at {where} has {key}={have[key]!r} but the embedder gives "
                    f"{wanted[key]!r}; fix: use the matching embedder or re-ingest into a new collection"
                )
        if create and any(have.get(k) != v for k, v in wanted.items()):
            col.modify(metadata={**have, **wanted})
        return cls(col, embedder)

    def upsert(
        self, ids: list[str], texts: list[str], embeddings: list[list[float]], metadatas: list[dict[str, Any]]
    ) -> None:
        """Insert or replace records by id (deterministic ids make re-ingest idempotent)."""
        n = len(ids)
        if not (len(texts) == len(embeddings) == len(metadatas) == n):
            raise ValueError(
                f"upsert needs equal lengths; got ids={n} texts={len(texts)} "
                f"embeddings={len(embeddings)} metadatas={len(metadatas)}"
            )
        if len(set(ids)) != n:
            dup = sorted({i for i in ids if ids.count(i) > 1})[:5]
            raise ValueError(f"upsert got duplicate ids {dup}; ids must be unique per call")
        dim = self.embedder.dim if self.embedder else None
        for vec in embeddings:
            if dim is not None and len(vec) != dim:
                raise ValueError(f"embedding has {len(vec)} dims but the store's embedder has {dim}")
        step = max(1, int(self.collection._client.get_max_batch_size()))
        for i in range(0, n, step):
            s = slice(i, i + step)
            self.collection.upsert(
                ids=ids[s],
                documents=texts[s],
                embeddings=embeddings[s],
                metadatas=[scalar_metadata(m) or None for m in metadatas[s]],
            )
        self._count = None

    def delete(self, ids: list[str]) -> None:
        """Remove records by id; unknown ids are ignored."""
        if ids:
            self.collection.delete(ids=list(ids))
            self._count = None

    def ids(self) -> set[str]:
        """All record ids."""
        out: set[str] = set()
        offset, page = 0, 5000
        while True:
            got = self.collection.get(include=[], limit=page, offset=offset)["ids"]
            out.update(got)
            if len(got) < page:
                return out
            offset += page

    def count(self) -> int:
        return int(self.collection.count())

    def _size(self) -> int:
        """The record count, cached between writes (collection.count() costs tens of ms per call)."""
        if self._count is None:
            self._count = self.count()
        return self._count

    def query(
        self, embedding: list[float], k: int = 20, where: dict[str, Any] | None = None
    ) -> list[tuple[str, float]]:
        """Top-`k` (id, cosine similarity) pairs, best first; `where` is a Chroma metadata filter."""
        n = self._size()
        if n == 0 or k <= 0:
            return []
        res = self.collection.query(
            query_embeddings=[list(embedding)], n_results=min(k, n), where=where, include=["distances"]
        )
        ids, dists = res["ids"][0], (res["distances"] or [[]])[0]
        pairs = [(i, 1.0 - float(d)) for i, d in zip(ids, dists, strict=True)]
        # equal up to the last bits (vectors of one text embedded in different batches) rank by id: a rebuild of
        # the same corpus ranks the same way
        return sorted(pairs, key=lambda p: (-round(p[1], SIMILARITY_DIGITS), p[0]))

    def query_text(
        self, text: str, k: int = 20, where: dict[str, Any] | None = None
    ) -> list[tuple[str, float]]:
        """Like `query`, embedding `text` with the store's embedder (query encoding)."""
        if self.embedder is None:
            raise ValueError(
                "query_text needs a store opened with an embedder; use VectorStore.open(embedder=...)"
            )
        return self.query(self.embedder.embed_batch([text], kind="query")[0], k=k, where=where)

    def metadata(self) -> dict[str, Any]:
        """Collection metadata: embedder, dim, store_schema and the versions passed at creation."""
        return dict(self.collection.metadata or {})
