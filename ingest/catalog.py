"""Corpus -> `Catalog`: run each document through the parser for its kind and link the documents.

The catalog is the single source of every fact an answer states.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from ingest.corpus import SourceDocument, load_corpus
from ingest.link import link_boxes_to_measures, link_progress_kpis
from ingest.parse_plan import parse_plan
from ingest.parse_progress import parse_progress
from ingest.parse_sections import parse_sections
from ingest.records import Catalog

__all__ = ["build_catalog", "parse_documents", "catalog_summary", "PARSER_VERSION"]

PARSER_VERSION = "4"  # 4: records name their context_lines


def build_catalog(corpus_dir: Path) -> Catalog:
    """Parse every document of the corpus into one catalog."""
    return parse_documents(load_corpus(corpus_dir))


def parse_documents(sources: list[SourceDocument]) -> Catalog:
    cat = Catalog()
    for src in sources:
        doc = src.document
        if doc.kind == "plan":
            tables = parse_plan(src.lines, doc.doc_id)
            skip = sorted(
                {(m.line_start, m.line_end) for m in tables.measures}
                | {(k.line_start, k.line_end) for k in tables.kpis}
            )
            narrative = parse_sections(src.lines, doc.doc_id, skip=skip)
            cat.measures += tables.measures
            cat.kpis += tables.kpis
            cat.sections += narrative.sections
            cat.glossary += narrative.glossary
            cat.warnings += tables.warnings + narrative.warnings
        else:
            report = parse_progress(src.lines, doc.doc_id)
            if report.as_of:
                doc = doc.model_copy(
                    update={
                        "as_of": doc.as_of or report.as_of,
                        "as_of_raw": report.as_of_raw,
                        "as_of_line": report.as_of_line or None,
                    }
                )
            if report.fiscal_year and not doc.fiscal_year:
                doc = doc.model_copy(update={"fiscal_year": report.fiscal_year})
            cat.totals += report.totals
            cat.initiatives += report.initiatives
            cat.progress_kpis += report.kpis
            cat.warnings += report.warnings
        cat.documents.append(doc)
    cat.progress_kpis = link_boxes_to_measures(link_progress_kpis(cat.progress_kpis, cat.kpis), cat.measures)
    return cat


def catalog_summary(cat: Catalog) -> dict[str, int]:
    """The counts `policy-assistant ingest` prints."""
    ids = Counter(m.measure_id for m in cat.measures)
    return {
        "documents": len(cat.documents),
        "measure_listings": len(cat.measures),
        "measures_distinct": len(ids),
        "measures_relisted": sum(1 for m in cat.measures if m.relisted),
        "kpis": len(cat.kpis),
        "kpi_placeholders": sum(1 for k in cat.kpis if k.placeholder),
        "sections": len(cat.sections),
        "glossary_terms": len(cat.glossary),
        "initiatives": len(cat.initiatives),
        "progress_kpi_boxes": len(cat.progress_kpis),
        "warnings": len(cat.warnings),
    }
