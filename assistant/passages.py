"""`GET /documents/{doc_id}/passage?start=&end=`: a cited line range shown inside its document section.

The answer cites lines of a source file (`L885-921`); a reader wants the words around them. The section is
the innermost narrative section of the document that holds line `start` (its path from the catalog, with the
labels people read: 「第3章 重点目標① > …」); its content is the cleaned text ingest already made: the
section's own passages, then the chunks of that document within `CONTEXT_LINES` of the cited lines inside the
section (measure rows, KPI rows, ...), in line order,
each marked `cited` when it lies inside the cited range (or, when none does, when it overlaps it). A document
without narrative sections (a progress report) gives the records around the cited lines instead.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from ingest.records import Catalog, Chunk, Section

__all__ = ["router", "Passage", "PassageBlock", "passage", "ancestry"]

CONTEXT_LINES = 40  # records this far around the cited lines are shown as context
MAX_LINE = 10_000_000

router = APIRouter(tags=["catalog"])


class PassageBlock(BaseModel):
    """One piece of cleaned text of the section, with its source lines."""

    line_start: int
    line_end: int
    location: str = Field(description='e.g. "L885-921"')
    kind: str = Field(description="section passage, measure, kpi, progress_kpi, initiative, glossary, totals")
    text: str
    cited: bool = Field(description="part of the cited lines")


class Passage(BaseModel):
    doc_id: str
    doc_title: str
    start: int
    end: int
    location: str = Field(description='the cited lines, e.g. "L885-921"')
    section_path: list[str] = Field(description="labels and titles from the chapter down")
    section_label: str = Field(description="the section path as people read it, with the measure ids")
    measure_ids: list[str] = Field(description="measures listed in the cited lines")
    section_start: int
    section_end: int
    blocks: list[PassageBlock]


def _headed(s: Section) -> str:
    return s.title if not s.label or s.title.startswith(s.label) else f"{s.label} {s.title}"


def ancestry(sections: list[Section], target: Section) -> list[str]:
    """`label title` of each enclosing section (by level, the latest one before `target`), then `target`'s."""
    chain: dict[int, Section] = {}
    for s in sections:
        if s.line_start > target.line_start:
            break
        chain = {lvl: x for lvl, x in chain.items() if lvl < s.level}
        chain[s.level] = s
    return [_headed(s) for lvl, s in sorted(chain.items()) if lvl > 0 or s is target]


def _section_of(sections: list[Section], start: int) -> Section | None:
    holding = [s for s in sections if s.line_start <= start <= s.line_end]
    return max(holding, key=lambda s: (s.level, s.line_start)) if holding else None


def _text(c: Chunk) -> str:
    if c.kind == "section" and c.section and c.text.startswith(c.section + "\n"):
        return c.text[len(c.section) + 1 :]  # the chunk repeats its section path on its first line
    return c.text


def passage(cat: Catalog, chunks: list[Chunk], doc_id: str, start: int, end: int) -> Passage:
    """The cited lines `start`..`end` of `doc_id` in their section (LookupError: unknown doc; ValueError: range)."""
    doc = next((d for d in cat.documents if d.doc_id == doc_id), None)
    if doc is None:
        known = ", ".join(d.doc_id for d in cat.documents)
        raise LookupError(f"doc_id: {doc_id!r} is not a document of this index; known: {known}")
    if end < start:
        raise ValueError(f"end: {end} is before start {start}; send start <= end")
    if doc.line_count and start > doc.line_count:
        raise ValueError(f"start: {start} is beyond the last line of {doc_id} ({doc.line_count})")
    end = min(end, doc.line_count or end)
    sections = sorted((s for s in cat.sections if s.doc_id == doc_id), key=lambda s: s.line_start)
    section = _section_of(sections, start)
    if section is not None:
        lo, hi, path = section.line_start, max(section.line_end, end), ancestry(sections, section)
    else:
        lo, hi, path = max(1, start - CONTEXT_LINES), end + CONTEXT_LINES, []
    near_lo, near_hi = max(lo, start - CONTEXT_LINES), min(hi, end + CONTEXT_LINES)
    own = [
        c
        for c in chunks
        if c.doc_id == doc_id and c.kind == "section" and (c.line_start, c.line_end) == (lo, hi)
    ]
    near = [c for c in chunks if c.doc_id == doc_id and c.line_start >= near_lo and c.line_end <= near_hi]
    mine = list({c.chunk_id: c for c in own + near}.values())
    if section is None:
        path = list(
            dict.fromkeys(c.goal for c in mine if c.goal and c.line_start <= end and c.line_end >= start)
        )
    inside = [c for c in mine if c.line_start >= start and c.line_end <= end]
    cited = inside or [c for c in mine if c.line_start <= end and c.line_end >= start]
    if section is None and path:  # a report: the records of the same goal
        mine = [c for c in mine if c.goal in path]
    cited_ids = {c.chunk_id for c in cited}
    blocks = [
        PassageBlock(
            line_start=c.line_start,
            line_end=c.line_end,
            location=f"L{c.line_start}-{c.line_end}",
            kind=c.kind,
            text=_text(c),
            cited=c.chunk_id in cited_ids,
        )
        for c in sorted(mine, key=lambda c: (c.line_start, c.kind != "section", c.record_ref))
    ]
    measure_ids = list(dict.fromkeys(m for c in cited if c.kind == "measure" for m in c.measure_ids))
    label = " > ".join(path) + (f" ｜ {'・'.join(measure_ids)}" if measure_ids else "")
    return Passage(
        doc_id=doc_id,
        doc_title=doc.title,
        start=start,
        end=end,
        location=f"L{start}-{end}" if end != start else f"L{start}",
        section_path=path,
        section_label=label or doc.title,
        measure_ids=measure_ids,
        section_start=lo,
        section_end=hi,
        blocks=blocks,
    )


@router.get(
    "/documents/{doc_id}/passage",
    response_model=Passage,
    responses={404: {"description": "unknown document"}, 422: {"description": "bad line range"}},
)
def get_passage(
    request: Request,
    doc_id: Annotated[str, PathParam(max_length=100, description="a doc_id from GET /documents")],
    start: Annotated[int, Query(ge=1, le=MAX_LINE, description="first cited line (1-based)")],
    end: Annotated[int | None, Query(ge=1, le=MAX_LINE, description="last cited line; default start")] = None,
) -> Passage:
    """The cited lines in the cleaned text of their section, with the section path people read."""
    index = request.app.state.assistant.index
    try:
        return passage(index.catalog, list(index.chunks.values()), doc_id, start, end or start)
    except LookupError as exc:
        raise HTTPException(404, detail=str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(422, detail=str(exc)) from exc
