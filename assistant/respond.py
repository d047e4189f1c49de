"""Verify and respond: the gate over a draft (every figure and department backed by a cited source), optional
LLM phrasing behind the same gate, and the `AskResponse` with its citations.

What the gate checks a draft against (`gate_sources`): the verbatim source lines of every record it cites (the
lines `line_start..line_end` of the evidence's document, as the index keeps them: ingest/sources.py), not the
record's rendering, which is a second reading of the same parse and would repeat a parser's mistake; plus the
cited documents' titles (from the manifest) and `Draft.derived`, the facts the answer computed from those records
(a count, a difference, a claim it denies). A record's goal and a KPI row's target years are printed outside
its span, in the heading and the table header it was read under: those lines (`context_lines`, recorded by the
parsers) are read verbatim too. Evidence without a line span (line_start 0) has no verbatim text, so it backs
nothing: a figure only it holds is withheld, rather than letting our rendering vouch for itself. Every record
ingest reads carries its span: over the development questions, the odd acceptance half and 457 questions
generated per record and attribute, no evidence has line_start 0, and this gate keeps and drops exactly the
sentences the gate on renderings did.
"""

from __future__ import annotations

import logging

from langchain_core.language_models import BaseChatModel

from assistant.draft import Draft, Evidence, abstain
from assistant.knowledge import Knowledge
from assistant.llm import phrase
from assistant.query import RELATED_PREFIX
from assistant.retrieve import Hit
from assistant.route import related_ids
from assistant.schemas import AskResponse, Citation
from assistant.verify import verify_lines
from ingest.sources import verbatim

__all__ = ["respond", "gate_sources"]

log = logging.getLogger("policy_assistant.service")
MAX_RELATED = 5


def respond(
    chat_model: BaseChatModel | None,
    d: Draft,
    related: list[str],
    hits: list[Hit],
    k: Knowledge,
    question: str = "",
) -> AskResponse:
    sources = gate_sources(d, k)
    lines, problems = verify_lines(d.lines, sources, k.departments) if d.answerable else (d.lines, [])
    if d.answerable and not lines:
        d = abstain("根拠資料で確認できる回答を作成できませんでした。")
        lines = d.lines
    if chat_model is not None and d.answerable and lines:
        lines = _phrase(chat_model, question, lines, d, sources, k)
    citations = [
        Citation(
            doc_id=e.doc_id,
            doc_title=k.titles.get(e.doc_id, e.doc_id),
            measure_id=mid,
            section=e.section,
            location=f"L{e.line_start}-{e.line_end}",
            quote=e.quote[:500],
            line_start=e.line_start or None,
            line_end=max(e.line_end, e.line_start) or None,
        )
        for e in _dedupe(d.evidence)
        for mid in (e.measure_id, *e.also)
    ]
    if not d.answerable and not related:
        related = related_ids([], hits)
    answer = "\n".join(lines)
    if not d.answerable and related:
        answer += f"\n{RELATED_PREFIX}{'、'.join(related[:MAX_RELATED])}"
    return AskResponse(
        answer=answer,
        answerable=d.answerable and bool(lines),
        citations=citations,
        measures=[m for m in d.measures if m],
        kpis=d.kpis,
        related=related[:MAX_RELATED],  # the same measures the text suggests
    )


def gate_sources(d: Draft, k: Knowledge) -> list[str]:
    """The texts the gate checks `d` against: the verbatim span of each evidence and the heading lines its record
    was read under, the titles, `d.derived`."""
    spans = []
    for e in d.evidence:
        spans.append(verbatim(k.sources, e.doc_id, e.line_start, e.line_end))
        spans += [
            verbatim(k.sources, e.doc_id, n, n)
            for n in k.context.get((e.doc_id, e.line_start, e.line_end), [])
        ]
    return spans + [k.titles.get(e.doc_id, "") for e in d.evidence] + d.derived


def _phrase(
    chat_model: BaseChatModel, question: str, lines: list[str], d: Draft, sources: list[str], k: Knowledge
) -> list[str]:
    """LLM phrasing, gated: any figure or department the model adds that no source backs -> keep the draft."""
    records = [
        {
            "doc": k.titles.get(e.doc_id, e.doc_id),
            "location": f"L{e.line_start}-{e.line_end}",
            "text": e.quote,
        }
        for e in d.evidence
    ]
    try:
        text = phrase(chat_model, question, "\n".join(lines), records)
    except Exception as exc:  # a remote model may fail in many ways; the grounded draft still answers
        log.warning("LLM phrasing failed (%s); sending the grounded draft", type(exc).__name__)
        return lines
    out = [x for x in text.splitlines() if x.strip()]
    kept, problems = verify_lines(out, sources, k.departments)
    if not out or problems:
        log.info("LLM phrasing rejected by verification: %s", problems[:3])
        return lines
    return kept


def _dedupe(evidence: list[Evidence]) -> list[Evidence]:
    seen, out = set(), []
    for e in evidence:
        key = (e.doc_id, e.line_start, e.line_end)
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out
