"""Short names the documents define for themselves: 「…第９条第１項に基づく都道府県官民データ活用推進計画（以下
「官民データ計画」といいます。）」. A quoted passage that uses one (「本推進ポリシーは，官民データ計画に位置づけ」) says
little to a reader who has not read the page that defines it, so the answer adds the defining sentence, verbatim
and cited (「この推進ポリシーは法律上何の計画？」 then also names the law and its article).

The definitions are read from the documents' source lines when the engine is built; nothing here names one.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from ingest.normalize import nfkc
from ingest.sources import SourceLines

__all__ = ["ShortName", "short_names", "used_in"]

_DEFINES = re.compile(r"以下[，,、]?\s*「([^」]{2,24})」\s*と(?:いいます|いう|します|する|称)")
_HEADING = re.compile(r"^\s*(?:[（(]\s*\d+\s*[)）]|[イロハニホヘトチ]\s|[①-⑳]|第\s*\d+\s*[章節]|\d+\s)")
MAX_DEFINITION = 160  # characters: a longer sentence is cut at a comma before the short name


@dataclass(frozen=True)
class ShortName:
    name: str  # as printed, NFKC (「官民データ計画」)
    doc_id: str
    line_start: int  # 1-based, inclusive: the lines of the defining sentence
    line_end: int
    definition: str  # the sentence up to the end of the （以下「…」といいます。） that defines it


def short_names(sources: SourceLines) -> dict[str, ShortName]:
    """Every short name a document defines, the first definition of each. The lines are joined without their
    layout (blank lines, indentation): a PDF dump breaks a sentence, and the definition, anywhere."""
    out: dict[str, ShortName] = {}
    for doc_id, lines in sources.items():
        rows = [(i, line.strip()) for i, line in enumerate(lines) if line.strip()]
        text = "".join(r for _, r in rows)
        offsets: list[int] = []  # each row's offset in `text`
        floor: list[int] = []  # where a sentence holding that row may start (after the last heading)
        at = 0
        for i, r in rows:
            offsets.append(at)
            floor.append(at + len(r) if _HEADING.match(lines[i]) else (floor[-1] if floor else 0))
            at += len(r)
        for m in _DEFINES.finditer(text):
            name = re.sub(r"[＊*]\s*\d+$", "", nfkc(m.group(1))).strip()  # a glossary mark (＊11) is no part
            if len(name) < 3 or name in out:
                continue
            row = bisect_right(offsets, m.start()) - 1
            begin = _sentence_start(text, floor[row], m.start())
            close = text.find("）", m.end())
            end = close + 1 if close >= 0 else m.end()
            first = rows[bisect_right(offsets, begin) - 1][0]
            last = rows[bisect_right(offsets, end - 1) - 1][0]
            out[name] = ShortName(name, doc_id, first + 1, last + 1, text[begin:end])
    return out


def _sentence_start(text: str, floor: int, at: int) -> int:
    """Where the sentence holding `at` starts: after the last full stop outside brackets (from `floor` on; a stop
    inside 「…。（以下…」 ends no sentence), and within `MAX_DEFINITION` characters of `at` (then after the first
    comma outside brackets there)."""
    depth, start = 0, floor
    commas: list[int] = []
    for j in range(floor, at):
        ch = text[j]
        if ch in "（(「『":
            depth += 1
        elif ch in "）)」』":
            depth = max(0, depth - 1)
        elif depth == 0 and ch == "。":
            start, commas = j + 1, []
        elif depth == 0 and ch in "，、,":
            commas.append(j + 1)
    if at - start > MAX_DEFINITION:
        return next((c for c in commas if at - c <= MAX_DEFINITION), at - MAX_DEFINITION)
    return start


def used_in(text: str, doc_id: str, names: dict[str, ShortName], limit: int = 2) -> list[ShortName]:
    """The short names of `doc_id` that `text` uses without defining them (at most `limit`, longest first)."""
    t = nfkc(text)
    found = [
        s
        for n, s in sorted(names.items(), key=lambda x: -len(x[0]))
        if s.doc_id == doc_id and n in t and f"「{n}」" not in t
    ]
    out: list[ShortName] = []
    for s in found:  # 「官民データ法」 is not explained again inside 「官民データ法…」
        if not any(s.name in o.name for o in out):
            out.append(s)
    return out[:limit]
