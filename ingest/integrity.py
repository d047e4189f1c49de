"""Checksums of an index's files, recorded in `meta.json` at build time and verified before the index is used.

`checksums(index_dir)` hashes the files ingest writes once and nothing rewrites (catalog, chunks, lexical
index, the documents' source lines); `damaged(index_dir, meta)` names the first one that is missing or whose
content differs from what ingest wrote, or None when they are intact. Chroma rewrites its own files whenever it
opens them, so its store is checked by reading it (`ingest.index.verify_index`), not by checksum.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ingest.embed import Embedder, get_embedder
from ingest.sources import SOURCES_FILE
from ingest.store import VectorStore

__all__ = ["checksums", "damaged", "verify_index", "open_store", "INDEX_FILES"]

INDEX_FILES = ("catalog.json", "chunks.jsonl", "lexical.json", SOURCES_FILE)


def checksums(index_dir: Path) -> dict[str, str]:
    """relative path -> sha256 of every file of the index (meta.json excluded)."""
    index_dir = Path(index_dir)
    files = [index_dir / name for name in INDEX_FILES]
    return {p.relative_to(index_dir).as_posix(): _sha256(p) for p in files if p.is_file()}


def damaged(index_dir: Path, meta: dict) -> str | None:
    """The first problem with the files `meta["checksums"]` lists (missing, unreadable, changed), else None.

    An index built before checksums were recorded has nothing to compare against and counts as intact.
    """
    index_dir = Path(index_dir)
    expected = meta.get("checksums")
    if not isinstance(expected, dict):
        return None
    for rel, digest in sorted(expected.items()):
        path = index_dir / rel
        try:
            actual = _sha256(path)
        except FileNotFoundError:
            return f"{path} is missing"
        except OSError as exc:
            return f"{path} cannot be read ({exc.strerror})"
        if actual != digest:
            return f"{path} differs from what ingest wrote (checksum mismatch: damaged or edited)"
    return None


def verify_index(index_dir: Path, meta: dict) -> str | None:
    """What is wrong with a complete index (a changed file, an unreadable Chroma store), or None when intact."""
    if not meta:
        return f"{index_dir / 'meta.json'} is missing or corrupt"
    problem = damaged(index_dir, meta)
    if problem is None and not meta.get("chroma_host"):
        try:
            store = open_store(index_dir, meta, None)
            count = store.count()
            if count != meta.get("chunks"):
                problem = f"{index_dir / 'chroma'} holds {count} vectors, meta.json says {meta.get('chunks')}"
            elif count:
                dim = len(store.collection.get(limit=1, include=["embeddings"])["embeddings"][0])
                store.query([1.0] + [0.0] * (dim - 1), k=1)
        except Exception as exc:  # noqa: BLE001 - any Chroma failure means the store is damaged
            problem = f"{index_dir / 'chroma'} cannot be read ({type(exc).__name__}: {exc})"
    return problem


def open_store(path: Path, meta: dict, embedder: Embedder | None) -> VectorStore:
    emb = embedder or get_embedder(meta["versions"]["embedder"])
    return VectorStore.open(
        path=None if meta.get("chroma_host") else path / "chroma",
        host=meta.get("chroma_host"),
        port=meta.get("chroma_port") or 8000,
        collection=meta["collection"],
        embedder=emb,
    )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
