"""Read and validate the corpus: `manifest.toml` and the documents it lists.

Every problem raises `CorpusError` naming the file, what is wrong and the fix, before anything is written.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import CorpusError
from ingest.records import Document

__all__ = ["SourceDocument", "load_corpus", "KINDS", "MANIFEST", "MAX_DOCUMENT_BYTES"]

KINDS = ("plan", "progress")
MANIFEST = "manifest.toml"
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024  # default of Settings.max_document_bytes
_REQUIRED = ("doc_id", "title", "kind", "file")


@dataclass(frozen=True)
class SourceDocument:
    """A manifest entry with its text split into lines (index 0 = line 1)."""

    document: Document
    lines: list[str]


def load_corpus(corpus_dir: Path, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> list[SourceDocument]:
    """Load every document listed in `corpus_dir/manifest.toml`; a file over `max_bytes` is refused unread."""
    corpus_dir = Path(corpus_dir)
    manifest = corpus_dir / MANIFEST
    if not corpus_dir.is_dir():
        raise CorpusError(f"corpus folder {corpus_dir} does not exist; pass --corpus DIR with a {MANIFEST}")
    if not manifest.is_file():
        raise CorpusError(
            f"{manifest} is missing; write one [[documents]] entry per file (see corpus/{MANIFEST})"
        )
    try:
        data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CorpusError(f"{manifest} is not valid TOML ({exc}); fix the syntax") from exc
    entries = data.get("documents")
    if not isinstance(entries, list) or not entries:
        raise CorpusError(f"{manifest} lists no [[documents]]; add one entry per file")
    out: list[SourceDocument] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries, 1):
        doc = _document(manifest, i, entry)
        if doc.doc_id in seen:
            raise CorpusError(f"{manifest}: doc_id {doc.doc_id!r} appears twice; every doc_id must be unique")
        seen.add(doc.doc_id)
        out.append(_read(corpus_dir, manifest, doc, max_bytes))
    return out


def _document(manifest: Path, i: int, entry: object) -> Document:
    if not isinstance(entry, dict):
        raise CorpusError(
            f"{manifest}: entry {i} is not a table; write it as [[documents]] with key = value lines"
        )
    missing = [k for k in _REQUIRED if not entry.get(k)]
    if missing:
        raise CorpusError(
            f"{manifest}: entry {i} lacks {', '.join(missing)}; every entry needs {', '.join(_REQUIRED)}"
        )
    if entry["kind"] not in KINDS:
        raise CorpusError(
            f"{manifest}: entry {i} ({entry['doc_id']}) has kind {entry['kind']!r}; kind must be one of {', '.join(KINDS)}"
        )
    known = set(Document.model_fields) - {"sha256", "line_count", "as_of_raw", "as_of_line"}
    unknown = sorted(set(entry) - known)
    if unknown:
        raise CorpusError(f"{manifest}: entry {i} has unknown keys {unknown}; allowed: {sorted(known)}")
    try:
        return Document(**entry)
    except Exception as exc:  # pydantic.ValidationError: wrong types
        raise CorpusError(f"{manifest}: entry {i} ({entry.get('doc_id')}) is invalid: {exc}") from exc


def _read(corpus_dir: Path, manifest: Path, doc: Document, max_bytes: int) -> SourceDocument:
    root = corpus_dir.resolve()
    path = (corpus_dir / doc.file).resolve()
    if not path.is_relative_to(root):
        raise CorpusError(
            f"{manifest}: file {doc.file!r} ({doc.doc_id}) resolves to {path}, outside the corpus folder {root}; "
            "copy the document into the corpus folder and name it relative to it"
        )
    if not path.is_file():
        raise CorpusError(
            f"{path} is listed in {manifest} ({doc.doc_id}) but missing; add the file or remove the entry"
        )
    size = path.stat().st_size
    if size > max_bytes:
        raise CorpusError(
            f"{path} ({doc.doc_id}) has {size:,} bytes, over the limit of {max_bytes:,} bytes per document; "
            "check it is the right file, or raise POLICY_ASSISTANT_MAX_DOCUMENT_BYTES"
        )
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise CorpusError(f"{path} ({doc.doc_id}) is binary (NUL bytes); convert the PDF to UTF-8 text first")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(
            f"{path} ({doc.doc_id}) is not UTF-8 text (byte {exc.start}); convert it, e.g. iconv -f SHIFT_JIS -t UTF-8"
        ) from exc
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():  # str.strip: every Unicode whitespace (U+3000 and tabs included)
        raise CorpusError(
            f"{path} ({doc.doc_id}) is empty (only whitespace); put the document's text in it or remove the entry"
        )
    lines = text.split("\n")
    digest = hashlib.sha256(raw).hexdigest()
    return SourceDocument(
        document=doc.model_copy(update={"sha256": digest, "line_count": len(lines)}), lines=lines
    )
