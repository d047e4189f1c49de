"""The documents' source lines, kept in the index, and a record's verbatim span read from them.

Ingest writes every document's lines as it read them (`corpus.load_corpus`: UTF-8, BOM dropped, line ends
folded to `\\n`, line 1 at index 0) to `sources.json` in the index dir, under the checksums of `meta.json`;
`load_sources` reads them back for `open_index`. `verbatim(sources, doc_id, line_start, line_end)` is the text of
lines `line_start..line_end` (1-based, inclusive) as the verification gate (assistant/verify.py) compares an
answer with it. A PDF text dump breaks lines inside names (「〇〇・企」/「画部」) and may inside figures
(「1,」/「234」), so the lines are joined without a separator, each stripped of its layout whitespace; only where
one line ends in a digit and the next begins with one is a space kept, so two printed figures (a cell `12`, the
next cell `34`) never fuse into a third (`1234`) that the source does not print. Measured with the gate over 457
questions generated per record and attribute (in brackets: the development questions and the odd acceptance
half), joining with newlines instead withholds 58 (44) sentences whose department is broken over lines, and
joining with nothing 72 (67) whose figures fuse; this join withholds none that the gate on our renderings kept.
A span outside the document, or of a document the index does not hold, reads as "" (nothing verbatim backs it).

A record's own span does not hold every label it carries: a plan KPI row's target years are printed once, in its
table's `Ｒ３ Ｒ４ Ｒ５ Ｒ６` header, and a record's goal (「重点目標① …」) in the heading above it. Parsers record those
lines as the record's `context_lines`; `context_by_span(catalog)` maps a record's span to them, so the gate reads
them verbatim too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from ingest.corpus import SourceDocument
from ingest.normalize import nfkc
from ingest.records import Catalog, Initiative, Measure, PlanKpi, ProgressKpi

__all__ = ["SOURCES_FILE", "SourceLines", "write_sources", "load_sources", "verbatim", "context_by_span"]

SOURCES_FILE = "sources.json"
SourceLines = Mapping[str, Sequence[str]]  # doc_id -> its lines (line 1 at index 0)


def write_sources(path: Path, documents: Sequence[SourceDocument]) -> None:
    """Write every document's lines to `path` ({doc_id: [line, ...]})."""
    data = {d.document.doc_id: d.lines for d in documents}
    Path(path).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def load_sources(path: Path) -> dict[str, list[str]]:
    """The lines `write_sources` wrote; ValueError when the file is not what it wrote."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(
        isinstance(lines, list) and all(isinstance(x, str) for x in lines) for lines in data.values()
    ):
        raise ValueError(f"{path} is not a mapping of doc_id to a list of lines")
    return data


def verbatim(sources: SourceLines, doc_id: str, line_start: int, line_end: int) -> str:
    """The source text of `doc_id` lines `line_start..line_end`, joined for comparison (see the module doc).

    >>> verbatim({"d": ["模擬・見", "", "本局 ", "架空課", "12", "34件"]}, "d", 1, 6)
    '模擬・見本局架空課12 34件'
    """
    lines = sources.get(doc_id, ())
    if line_start < 1:
        return ""
    text = ""
    for raw in lines[line_start - 1 : max(line_end, line_start)]:
        line = raw.strip()
        if not line:
            continue
        if text and nfkc(text[-1])[-1:].isdigit() and nfkc(line[0])[:1].isdigit():
            text += " "
        text += line
    return text


def context_by_span(catalog: Catalog) -> dict[tuple[str, int, int], list[int]]:
    """(doc_id, line_start, line_end) of every record with `context_lines` -> those lines (of all records there)."""
    out: dict[tuple[str, int, int], list[int]] = {}
    records: list[Measure | PlanKpi | Initiative | ProgressKpi] = [
        *catalog.measures,
        *catalog.kpis,
        *catalog.initiatives,
        *catalog.progress_kpis,
    ]
    for r in records:
        if r.context_lines:
            key = (r.doc_id, r.line_start, r.line_end)
            out[key] = sorted({*out.get(key, []), *r.context_lines})
    return out
