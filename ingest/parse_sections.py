"""Narrative sections (章 / 1 / (1) / イ) and the 用語解説 glossary of the plan, with PDF-cleaned text.

Input is the plan's text split on "\\n" (index 0 = line 1); every record carries 1-based line numbers.

Cleaning (`clean_lines`): blank lines dropped; a line that ends WITHOUT whitespace continues on the next
line (joined directly), a line ending with whitespace or `。` ends a paragraph ("\\n"). Dropped as known noise:
ruby lines (kana-only, no blank line between them and a base line ending in kanji/latin), footnote
markers (`＊27`, `＊` / `34`, inline `＊12`), URL-only lines, vertical text (3+ adjacent lines of at most two
characters). Names printed one kanji per token (`青 木 孝 文`) are joined; whitespace runs collapse to one space.

Sections (`parse_sections`): a paragraph opens a section when it matches a heading form, keeps the numbering
sequence under its parent (第N章 = previous + 1; `1`, `(1)`, `イ`, `視点①` restart at 1 under a new parent) and
is not part of a run of same-level headings with no body between them (an in-text list such as a table of
contents). Levels: 1 = `第N章` or a bare `参考資料`; 2 = `N title`; 3 = `(N) title`; 4 = `イ title` or
`<word>① title`. Lines before the first heading form a level-0 section titled `冒頭`. A section's range runs
from its heading to the line before the next heading; `text` holds its own body only (not its children's).

Table regions: a region starts at a line holding only `主な個別施策` or `目標指標（ＫＰＩ）` (plus an optional
count) and ends before the next heading; caller `skip` ranges are excluded as well. Inside both, paragraphs
that cannot be table cells are kept: `○` guideline bullets, page-wide lines (>= 36 non-space characters)
and a `…：` paragraph introducing such a line. Also dropped from section text: single-line paragraphs that
repeat the title of an enclosing section below the chapter (page-side tab labels), digit-only paragraphs
(page numbers), and the whole body of a chart-like section (mostly digit-only or one-character lines).
The 用語解説 section keeps an empty text; its entries become `GlossaryTerm`s (an unnumbered term under an
entry, e.g. a term column line after a finished definition, becomes its own entry with `number=None`).
Labels are NFKC except circled numbers (`視点①`); titles and text keep the printed characters.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ingest.normalize import nfkc
from ingest.records import GlossaryTerm, ParseWarning, Section

__all__ = ["SectionsParse", "clean_lines", "parse_sections"]

_KANA_ONLY = re.compile(r"^[\u3041-\u3096\u30a1-\u30fa\u30fc ]+$")
_KANA_CHAR = re.compile(r"[\u3041-\u3096\u30a1-\u30fa\u30fc]")
_MARKER_LINE = re.compile(r"^\s*[＊*]\s*[0-9０-９]*\s*$")
_DIGITS_LINE = re.compile(r"^\s*[0-9０-９]{1,3}\s*$")
_INLINE_MARKER = re.compile(r"＊\s*[0-9０-９]+ ?")
_URL_LINE = re.compile(r"^\s*https?://\S+\s*$")
_SPACED_NAME = re.compile(r"(?<!\S)[\u4e00-\u9fff々](?: [\u4e00-\u9fff々])+(?: [\u3041-\u3096]+)?(?!\S)")
_WS = re.compile(r"\s+")
_TABLE_START = re.compile(r"^\s*(主な個別施策|目標指標\(KPI\))\s*\d*\s*$")
_IROHA = "イロハニホヘトチリヌルヲ"
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
_H1 = re.compile(r"^第([0-9]{1,2})章\s+(\S.*)$")
_H1_BARE = re.compile(r"^(参考資料|資料編|付録)$")
_H2 = re.compile(r"^([0-9]{1,2})\s+(\S.*)$")
_H3 = re.compile(r"^[(]([0-9]{1,2})[)]\s*(\S.*)$")
_H4_IROHA = re.compile(rf"^([{_IROHA}])\s+(\S.*)$")
_H4_CIRCLED = re.compile(rf"^([^\s\d{_CIRCLED}(「『・○]{{1,4}})([{_CIRCLED}])\s*(\S.*)$")
_BAD_TITLE_START = re.compile(r"^[\d月日年%.,、，。)）]")
_WIDE = 36  # non-space characters: wider than any table cell, i.e. page-wide text
_CHART_SHARE = 0.3
_GLOSSARY_TITLE = "用語解説"
_PREAMBLE_TITLE = "冒頭"


@dataclass
class SectionsParse:
    """Result of `parse_sections`."""

    sections: list[Section] = field(default_factory=list)
    glossary: list[GlossaryTerm] = field(default_factory=list)
    warnings: list[ParseWarning] = field(default_factory=list)


@dataclass
class _Para:
    start: int  # 0-based line index
    end: int
    raw: str  # joined without normalisation (first line's indentation stripped)


@dataclass
class _Head:
    para: int
    level: int
    label: str
    title: str
    key: tuple[str, int] = ("", 0)  # sequence family and ordinal


# --- line-level cleaning -----------------------------------------------------------------------------------


def _is_ruby(lines: list[str], i: int) -> bool:
    s = lines[i]
    if not s.strip() or s != s.rstrip() or not _KANA_ONLY.match(s) or len(s.replace(" ", "")) > 12:
        return False
    prev = lines[i - 1] if i > 0 else ""
    return bool(prev.strip()) and prev == prev.rstrip() and not _KANA_CHAR.match(prev[-1])


def _noise_mask(lines: list[str]) -> list[bool]:
    """True for lines that never carry text: blanks, ruby, markers, URL-only lines, vertical text."""
    noise = [not s.strip() for s in lines]
    for i, s in enumerate(lines):
        if noise[i]:
            continue
        if _is_ruby(lines, i) or _URL_LINE.match(s) or _MARKER_LINE.match(s):
            noise[i] = True
        elif _DIGITS_LINE.match(s) and _prev_nonblank_is_bare_marker(lines, i):
            noise[i] = True
    i = 0
    while i < len(lines):  # vertical text: 3+ adjacent (no blank between) lines of <= 2 characters
        j = i
        while j < len(lines) and 0 < len(lines[j].strip()) <= 2:
            j += 1
        if j - i >= 3:
            for k in range(i, j):
                noise[k] = True
        i = max(j, i + 1)
    return noise


def _prev_nonblank_is_bare_marker(lines: list[str], i: int) -> bool:
    k = i - 1
    while k >= 0 and not lines[k].strip():
        k -= 1
    return k >= 0 and bool(re.match(r"^\s*[＊*]\s*$", lines[k]))


def _paragraphs(lines: list[str], keep: list[bool], region: list[bool] | None = None) -> list[_Para]:
    """Join kept lines into paragraphs; a paragraph also breaks where `region` changes."""
    paras: list[_Para] = []
    cur: _Para | None = None
    for i, s in enumerate(lines):
        if not keep[i]:
            continue
        if cur is not None and (
            (region is not None and region[i] != region[cur.end]) or _indented_heading(s)
        ):
            paras.append(cur)
            cur = None
        part = _SPACED_NAME.sub(lambda m: m.group(0).replace(" ", ""), s)
        if cur is None:
            cur = _Para(i, i, part.lstrip())
        else:
            cur.raw += part.lstrip() if not cur.raw else part
            cur.end = i
        if s != s.rstrip() or s.endswith("。"):
            paras.append(cur)
            cur = None
    if cur is not None:
        paras.append(cur)
    return paras


def _indented_heading(s: str) -> bool:
    """An indented, complete line in a heading form opens a paragraph even after an unfinished line."""
    if s == s.lstrip() or s == s.rstrip():
        return False
    h = _candidate(s)
    return h is not None and _plausible(h)


def _norm(s: str) -> str:
    """NFKC, but keep circled numbers (①) that NFKC would fold into plain digits."""
    return "".join(c if c in _CIRCLED else nfkc(c) for c in s)


def _tidy(raw: str) -> str:
    return _WS.sub(" ", _INLINE_MARKER.sub("", raw)).strip()


def clean_lines(lines: list[str], start: int, end: int) -> str:
    """Clean text of 1-based inclusive lines `start..end`: paragraphs joined by "\\n", noise removed."""
    if start < 1 or end > len(lines) or start > end:
        raise ValueError(
            f"line range {start}..{end} is outside 1..{len(lines)}; pass 1-based inclusive bounds"
        )
    noise = _noise_mask(lines)
    keep = [start - 1 <= i < end and not noise[i] for i in range(len(lines))]
    return "\n".join(t for t in (_tidy(p.raw) for p in _paragraphs(lines, keep)) if t)


# --- headings ----------------------------------------------------------------------------------------------


def _candidate(text: str) -> _Head | None:
    """The heading a paragraph would open, judged by its form only."""
    norm = _WS.sub(" ", _norm(text)).strip()
    title_raw = _WS.sub(" ", text).strip()
    if _H1_BARE.match(norm):
        return _Head(-1, 1, norm, title_raw, ("bare", 0))
    for level, rx in ((1, _H1), (2, _H2), (3, _H3)):
        m = rx.match(norm)
        if m:
            title = (
                title_raw.split(" ", 1)[1] if level != 3 else re.sub(r"^[(（][^)）]*[)）]\s*", "", title_raw)
            )
            return _Head(-1, level, m.group(0)[: m.start(2)].strip(), title, (str(level), int(m.group(1))))
    m = _H4_IROHA.match(norm)
    if m:
        return _Head(-1, 4, m.group(1), title_raw.split(" ", 1)[1], ("iroha", _IROHA.index(m.group(1)) + 1))
    m = _H4_CIRCLED.match(text.strip())
    if m and not _BAD_TITLE_START.match(m.group(3)):
        label = _norm(m.group(1) + m.group(2))
        return _Head(
            -1, 4, label, _WS.sub(" ", m.group(3)).strip(), (m.group(1), _CIRCLED.index(m.group(2)) + 1)
        )
    return None


def _plausible(h: _Head) -> bool:
    t = nfkc(h.title)
    return (
        0 < len(t) <= 45
        and not _BAD_TITLE_START.match(t)
        and not t.endswith(("。", "，", "、"))
        and bool(re.search(r"[\u3041-\u30ff\u4e00-\u9fff]", t))
    )


def _find_headings(paras: list[_Para]) -> list[_Head]:
    cands: list[_Head | None] = []
    for p in paras:
        h = _candidate(p.raw)
        cands.append(h if h is not None and (h.key[0] == "bare" or _plausible(h)) else None)
    listed = set()  # runs of same-level candidates with no body between them are in-text lists
    for k in range(len(cands) - 1):
        a, b = cands[k], cands[k + 1]
        if a and b and a.level == b.level and a.key[0] == b.key[0]:
            listed |= {k, k + 1}
    heads: list[_Head] = []
    open_: dict[int, _Head] = {}
    last: dict[tuple[int, str], int] = {}  # (level, family) -> last ordinal under the open parent
    for k, h in enumerate(cands):
        if h is None or k in listed or not _in_sequence(h, open_, last, bool(heads)):
            continue
        h.para = k
        heads.append(h)
        open_[h.level] = h
        for lv in [lv for lv in open_ if lv > h.level]:
            del open_[lv]
        for key in [key for key in last if key[0] > h.level]:
            del last[key]
        last[(h.level, h.key[0])] = h.key[1]
    return heads


def _in_sequence(h: _Head, open_: dict[int, _Head], last: dict[tuple[int, str], int], started: bool) -> bool:
    if h.level == 1:
        if h.key[0] == "bare":
            return started and last.get((1, "bare"), 0) == 0
        return h.key[1] == last.get((1, h.key[0]), 0) + 1
    if h.level - 1 not in open_:
        return False
    return h.key[1] == last.get((h.level, h.key[0]), 0) + 1


def _continue_title(heads: list[_Head], paras: list[_Para]) -> set[int]:
    """A title ending in の continues on a short next paragraph; returns the paragraphs absorbed."""
    used: set[int] = set()
    starts = {h.para for h in heads}
    for h in heads:
        n = h.para + 1
        if h.title.endswith("の") and n < len(paras) and n not in starts and len(_tidy(paras[n].raw)) <= 12:
            h.title += _tidy(paras[n].raw)
            used.add(n)
    return used


# --- sections ----------------------------------------------------------------------------------------------


def _skip_mask(n: int, skip: Sequence[tuple[int, int]]) -> list[bool]:
    mask = [False] * n
    for a, b in skip:
        if a < 1 or b < a:
            raise ValueError(
                f"skip range {(a, b)} is invalid; pass 1-based inclusive (start, end) with start <= end"
            )
        for i in range(a - 1, min(b, n)):
            mask[i] = True
    return mask


def _region_mask(lines: list[str], skip: list[bool], heads: list[_Head], paras: list[_Para]) -> list[bool]:
    """Caller ranges plus detected table regions (table header line .. before the next heading)."""
    region = list(skip)
    head_lines = sorted(paras[h.para].start for h in heads)
    for i, s in enumerate(lines):
        if _TABLE_START.match(nfkc(s)):
            stop = next((x for x in head_lines if x > i), len(lines))
            for k in range(i, stop):
                region[k] = True
    return region


def _rescued(paras: list[_Para], lines: list[str], region: list[bool]) -> set[int]:
    """Paragraphs inside table regions that cannot be table cells (bullets, page-wide text)."""
    out: set[int] = set()
    for k, p in enumerate(paras):
        if not region[p.start]:
            continue
        wide = any(len(_WS.sub("", lines[i])) >= _WIDE for i in range(p.start, p.end + 1))
        if p.raw.lstrip().startswith("○") or wide:
            out.add(k)
    for k in sorted(out):
        if k > 0 and region[paras[k - 1].start] and _tidy(paras[k - 1].raw).endswith(("：", ":")):
            out.add(k - 1)
        nxt = k + 1  # the wrapped tail of an unfinished bullet
        if nxt < len(paras) and region[paras[nxt].start] and _is_bullet_head(paras[k].raw, paras[nxt].raw):
            out.add(nxt)
    return out


def _is_bullet_head(raw: str, next_raw: str) -> bool:
    """A `○` bullet that stops mid-sentence and is followed by one plain line ending its sentence."""
    t, n = _tidy(raw), _tidy(next_raw)
    return (
        t.startswith("○")
        and not t.endswith("。")
        and not n.startswith("○")
        and n.endswith("。")
        and "\n" not in n
    )


def _chart_like(lines: list[str], a: int, b: int) -> bool:
    body = [nfkc(s).strip() for s in lines[a:b] if s.strip()]
    odd = [s for s in body if len(s) == 1 or not re.search(r"[^\d\s,.・()+~\-]", s)]
    return len(body) >= 10 and len(odd) / len(body) >= _CHART_SHARE and not any("。" in s for s in body)


def parse_sections(lines: list[str], doc_id: str, skip: Sequence[tuple[int, int]] = ()) -> SectionsParse:
    """Sections and glossary of the plan. `skip`: 1-based inclusive line ranges owned by table parsers."""
    noise = _noise_mask(lines)
    skipped = _skip_mask(len(lines), skip)
    paras1 = _paragraphs(lines, [not n and not r for n, r in zip(noise, skipped, strict=True)])
    heads1 = _find_headings(paras1)
    region = _region_mask(lines, skipped, heads1, paras1)
    paras = _paragraphs(lines, [not n for n in noise], region)
    kept = _rescued(paras, lines, region) | {k for k, p in enumerate(paras) if not region[p.start]}
    content = [p for k, p in enumerate(paras) if k in kept]
    heads = _find_headings(content)
    absorbed = _continue_title(heads, content)
    out = SectionsParse()
    bounds = [content[h.para].start for h in heads] + [len(lines)]
    if bounds[0] > 0 and any(s.strip() for s in lines[: bounds[0]]):
        heads.insert(0, _Head(-1, 0, "", _PREAMBLE_TITLE))
        bounds.insert(0, 0)
    stack: list[_Head] = []
    for n, h in enumerate(heads):
        a, b = bounds[n], bounds[n + 1]
        while stack and stack[-1].level >= h.level:
            stack.pop()
        stack.append(h)
        path = [x.title for x in stack if x.level > 0]
        body = [p for k, p in enumerate(content) if a <= p.start < b and k != h.para and k not in absorbed]
        texts = _body_texts(body, [x.title for x in stack if x.level > 1])
        is_glossary = _GLOSSARY_TITLE in nfkc(h.title)
        if is_glossary:
            out.glossary = _parse_glossary(lines, noise, a + 1, b, doc_id)
        if is_glossary or _chart_like(lines, a + 1, b):
            texts = []
        end = b
        while end > a + 1 and not lines[end - 1].strip():
            end -= 1
        out.sections.append(
            Section(
                doc_id=doc_id,
                section_id=f"{doc_id}:sec:{n + 1:03d}",
                level=h.level,
                label=h.label,
                title=h.title,
                path=path,
                text="\n".join(texts),
                line_start=a + 1,
                line_end=end,
            )
        )
    return out


def _body_texts(body: list[_Para], tab_titles: list[str]) -> list[str]:
    """Cleaned paragraphs of a section body; `tab_titles`: titles a page-side tab label may repeat."""
    titles = [_WS.sub("", t) for t in tab_titles]
    texts: list[str] = []
    for k, p in enumerate(body):
        t = _tidy(p.raw)
        flat = _WS.sub("", t)
        if not t or _DIGITS_LINE.match(t):
            continue
        if p.start == p.end and len(flat) <= 20 and any(flat in title for title in titles):
            continue  # page-side tab label repeating an ancestor's title
        if texts and k > 0 and _is_bullet_head(body[k - 1].raw, p.raw) and p.start == p.end:
            texts[-1] += t  # `○ …を` + `進め，…。`: one bullet wrapped at a line end with a space
            continue
        texts.append(t)
    return texts


# --- glossary ----------------------------------------------------------------------------------------------

_ENTRY = re.compile(r"^\s*([0-9０-９]{1,2})(?:\s+(.*?))?\s*$")


def _term_like(s: str) -> bool:
    t = s.strip()
    return 0 < len(_WS.sub("", t)) <= 15 and not re.search(r"[。，、：]", t)


def _term_text(parts: list[str]) -> str:
    """Join term-column lines; drop layout spaces except between two ASCII alphanumerics."""
    t = "".join(p.strip() for p in parts)
    return re.sub(r"\s+", lambda m: " " if _ascii_pair(t, m) else "", t).strip()


def _ascii_pair(t: str, m: re.Match) -> bool:
    a, b = t[m.start() - 1 : m.start()], t[m.end() : m.end() + 1]
    return a.isascii() and a.isalnum() and b.isascii() and b.isalnum()


@dataclass
class _Entry:
    number: str | None
    start: int
    term: list[str] = field(default_factory=list)
    defn: list[str] = field(default_factory=list)
    end: int = -1
    in_term: bool = True  # still reading the term column


def _parse_glossary(lines: list[str], noise: list[bool], a: int, b: int, doc_id: str) -> list[GlossaryTerm]:
    """Entries `N term` + definition; N must be the previous number + 1 (a stray digit cannot open one)."""
    entries: list[_Entry] = []
    last = 0
    for i in range(a, b):
        s = lines[i]
        m = _ENTRY.match(s)
        if noise[i]:
            continue
        if m and int(nfkc(m.group(1))) == last + 1:
            last += 1
            cur = _Entry(str(last), i, end=i)
            entries.append(cur)
            rest = (m.group(2) or "").strip()
            head, _, tail = rest.partition(" ")
            if tail and (tail.endswith("。") or len(tail) > 15):  # `9 情報リテラシー 情報機器や…。`
                cur.term, cur.defn, cur.in_term = [head], [tail + " "], False
            elif rest:
                cur.term = [rest]
            continue
        if not entries:
            continue  # the table header before the first entry
        cur = entries[-1]
        if not cur.in_term and _term_like(s) and not s.lstrip().startswith(("「", "（", "(")):
            if "".join(cur.defn).rstrip().endswith("。"):  # a term without a number, under the previous one
                entries.append(_Entry(None, i, term=[s], end=i))
                continue
        cur.end = i
        if cur.in_term and _term_like(s):
            cur.term.append(s)
        else:
            cur.in_term = False
            cur.defn.append(s)
    return [
        GlossaryTerm(
            doc_id=doc_id,
            number=e.number,
            term=_term_text(e.term),
            definition=_join_def(e.defn),
            line_start=e.start + 1,
            line_end=e.end + 1,
        )
        for e in entries
    ]


def _join_def(parts: list[str]) -> str:
    out = ""
    for s in parts:
        out += s.strip() + ("\n" if s != s.rstrip() else "")
    return "\n".join(_tidy(x) for x in out.split("\n") if _tidy(x))
