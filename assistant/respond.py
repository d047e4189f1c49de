"""Verify and respond: the gate over a draft (every figure and department backed by a cited source), optional
LLM phrasing behind the same gate, and the `AskResponse` with its citations.
"""

from __future__ import annotations

import logging

from langchain_core.language_models import BaseChatModel

from assistant.draft import Draft, Evidence
from assistant.knowledge import Knowledge
from assistant.llm import phrase
from assistant.lookup import abstain
from assistant.query import RELATED_PREFIX
from assistant.retrieve import Hit
from assistant.route import related_ids
from assistant.schemas import AskResponse, Citation
from assistant.verify import verify_lines

__all__ = ["respond"]

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
    sources = [e.quote for e in d.evidence] + [k.titles.get(e.doc_id, "") for e in d.evidence] + d.derived
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
            measure_id=e.measure_id,
            section=e.section,
            location=f"L{e.line_start}-{e.line_end}",
            quote=e.quote[:500],
            line_start=e.line_start or None,
            line_end=max(e.line_end, e.line_start) or None,
        )
        for e in _dedupe(d.evidence)
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
