"""Parse the R5 progress report (R5年度実績): totals, initiatives (主要取組) and KPI boxes.

Layout (see research/corpus-layout.md, progress traps): a page starts at the table header
`ポリシー行動指針 … 主要取組`; its bullets come first, then the goal heading (`…「goal」 取組状況`), then the
scrambled KPI boxes. Bullets belong to the first heading after them on the page (else the one before them).
A heading with bullet blocks on both sides (the foundation page) splits its blocks by the vertical row labels,
which repeat labels of the overview page. KPI boxes are rebuilt from atoms (year tag, value, 目標（Rn）, 達成率,
※ note, label text): atoms next to a label go to it until a slot is taken twice, then to the next label.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Any

from ingest.normalize import fiscal_year, nfkc, parse_quantity
from ingest.records import Initiative, ParseWarning, ProgressKpi, ProgressTotals

__all__ = ["ProgressReport", "parse_progress"]

_BULLET, _FOLLOW, _NEW = "●", "\uf0d8", "【新規】"
_DETAIL_START = ("（", "(", "・", _FOLLOW)
_VALUE = r"(?:約|延べ)?\d[\d,]*(?:\.\d+)?(?:[万千億]\d*(?:\.\d+)?)*(?:(?![RＲ]\d|目標)[^\s\d※])*"
_ATOM_RE = re.compile(
    rf"(?P<note>※(?:(?!目標[（(])\S)+)|目標[（(](?P<tyear>[RＲ]\d+)[）)]\s*(?P<tval>{_VALUE}|\S+)"
    rf"|(?P<rate>達成率)|(?P<year>[RＲ]\d{{1,2}})(?![\d.])|(?P<value>{_VALUE})"
)


@dataclass
class ProgressReport:
    """Everything read from one progress report."""

    as_of: str | None
    fiscal_year: int | None
    totals: list[ProgressTotals] = field(default_factory=list)
    initiatives: list[Initiative] = field(default_factory=list)
    kpis: list[ProgressKpi] = field(default_factory=list)
    warnings: list[ParseWarning] = field(default_factory=list)
    as_of_raw: str | None = None  # the whole as-of line as printed, e.g. "※R6年５月照会（R6.6.7時点）"
    as_of_line: int = 0


@dataclass
class _Ctx:
    lines: list[str]
    doc_id: str
    used: set[int] = field(default_factory=set)  # 0-based indexes of placed or known-noise lines
    warnings: list[ParseWarning] = field(default_factory=list)

    def warn(self, i: int, reason: str) -> None:
        self.used.add(i)
        self.warnings.append(
            ParseWarning(doc_id=self.doc_id, line=i + 1, text=self.lines[i].strip(), reason=reason)
        )


def parse_progress(lines: list[str], doc_id: str) -> ProgressReport:
    """Parse a progress report given as lines (index 0 = line 1)."""
    ctx = _Ctx(lines, doc_id)
    headers = [i for i, t in enumerate(lines) if t.strip().startswith("ポリシー行動指針") and "主要取組" in t]
    body = headers[0] if headers else len(lines)
    year = _report_year(lines[:body])
    report = ProgressReport(as_of=None, fiscal_year=year)
    for i, t in enumerate(lines):
        m = re.search(r"[（(]\s*([RＲ]\d+\.\d+\.\d+)\s*時点\s*[）)]", t)
        if m:
            report.as_of, report.as_of_raw, report.as_of_line = nfkc(m.group(1)), t.strip(), i + 1
            ctx.used.add(i)
            break
    totals = _totals(ctx, body, year)
    report.totals = [totals] if totals else []
    ctx.used.update(range(body))  # the rest of the overview page is a diagram: known noise
    ctx.used.update(headers)
    parts = _scan(ctx, body, set(headers))
    goals, heads = _assign_goals(ctx, parts, headers, body)
    for part, goal, head in zip(parts, goals, heads, strict=True):
        if part[0] == "bullets":
            report.initiatives += _initiatives(ctx, part[1], part[2], goal, head)
        elif part[0] == "kpi":
            report.kpis += _kpi_boxes(ctx, part[1], part[2], goal, head)
    for n, kpi in enumerate(report.kpis, 1):
        kpi.kpi_id = f"{doc_id}:kpi:{n:02d}"
    for i, t in enumerate(lines):
        if t.strip() and i not in ctx.used:
            ctx.warn(i, "line outside every bullet block, heading and KPI box")
    report.warnings = sorted(ctx.warnings, key=lambda w: w.line)
    return report


# --- overview page ----------------------------------------------------------------------------------------


def _report_year(lines: list[str]) -> int | None:
    for t in lines:
        m = re.search(r"((?:[RＲ]|令和)\s*[\d０-９元]+)\s*年度実績", t)
        if m:
            return fiscal_year(m.group(1))
    return None


def _totals(ctx: _Ctx, end: int, year: int | None) -> ProgressTotals | None:
    """事業数 / 決算額 (first pair) and the 【参考】 pair; the ●…関連事業 boxes become `by_goal`."""
    pairs: list[dict] = []
    ref_year: str | None = None
    boxes: list[dict[str, str]] = []
    box_re = re.compile(r"(\d[\d,]*件)\s*(\d[\d,.]*[億万千]?円)")
    for i in range(end):
        t = ctx.lines[i].strip()
        if m := re.search(r"【参考】\s*([RＲ]\s*[\d０-９]+)", t):
            ref_year = nfkc(m.group(1)).replace(" ", "")
            ctx.used.add(i)
            pairs.append({"ref": True, "lines": [i]})
        elif m := re.match(r"事業数\s*(\S+)", t):
            if not pairs or "count" in pairs[-1]:
                pairs.append({"ref": False, "lines": []})
            pairs[-1].update(count=m.group(1), lines=pairs[-1]["lines"] + [i])
        elif (m := re.match(r"(決算額|予算額)\s*(\S+)", t)) and pairs:
            pairs[-1].update(kind=m.group(1), amount=m.group(2), lines=pairs[-1]["lines"] + [i])
        elif t.startswith(_BULLET) and "関連事業" in t:
            nxt = next((j for j in range(i + 1, end) if ctx.lines[j].strip()), i)
            for j in (i, nxt):
                if bm := box_re.search(ctx.lines[j]):
                    boxes.append(
                        {"goal": "", "count": bm.group(1), "amount": bm.group(2), "line": str(i + 1)}
                    )
                    ctx.used.update({i, j})
                    break
    main = next((p for p in pairs if not p["ref"] and "amount" in p), None)
    if main is None or year is None:
        return None
    ref = next((p for p in pairs if p["ref"] and "amount" in p), None)
    line_nums = [int(b["line"]) - 1 for b in boxes] + main["lines"] + (ref["lines"] if ref else [])
    ctx.used.update(line_nums)
    return ProgressTotals(
        doc_id=ctx.doc_id,
        fiscal_year=year,
        project_count=parse_quantity(main["count"]),
        amount=parse_quantity(main["amount"]),
        amount_kind=main["kind"],
        reference_year_raw=ref_year if ref else None,
        reference_project_count=parse_quantity(ref["count"]) if ref else None,
        reference_amount=parse_quantity(ref["amount"]) if ref else None,
        reference_amount_kind=ref["kind"] if ref else None,
        by_goal=boxes,
        line_start=min(line_nums) + 1,
        line_end=max(line_nums) + 1,
    )


# --- page structure ---------------------------------------------------------------------------------------


def _next_nonblank(lines: list[str], i: int, end: int) -> int | None:
    return next((j for j in range(i, end) if lines[j].strip()), None)


def _is_heading(t: str) -> bool:
    return "取組状況" in t and "「" in t


def _is_tag(lines: list[str], i: int | None) -> bool:
    """A Latin page tag (`D for`, `Foundation`) that leads, through other tags, to a heading line."""
    while i is not None and re.fullmatch(r"[A-Za-z ]+", lines[i].strip()):
        i = _next_nonblank(lines, i + 1, len(lines))
    return i is not None and _is_heading(lines[i]) and not lines[i].strip().startswith(_BULLET)


def _scan(ctx: _Ctx, start: int, headers: set[int]) -> list[tuple]:
    """Split the body into ("bullets"|"heading"|"kpi"|"other", first, last[, goal]) parts (0-based, inclusive)."""
    lines, n = ctx.lines, len(ctx.lines)
    parts: list[tuple[Any, ...]] = []
    i = start
    after_heading = False
    while (nxt := _next_nonblank(lines, i, n)) is not None:
        i = nxt
        t = lines[i].strip()
        if i in headers:
            i, after_heading = i + 1, False
        elif t.startswith(_BULLET):
            j = i
            while (
                (k := _next_nonblank(lines, j + 1, n)) is not None
                and k not in headers
                and (
                    lines[k].strip().startswith((_BULLET, *_DETAIL_START, _NEW))
                    or k == j + 1
                    and not _is_tag(lines, k)
                )
            ):
                j = k
            parts.append(("bullets", i, j))
            i, after_heading = j + 1, False
        elif _is_tag(lines, i) or _is_heading(t):
            j = i
            while not _is_heading(lines[j]):
                nxt = _next_nonblank(lines, j + 1, n)
                assert nxt is not None, "a page tag always leads to its heading (checked by _is_tag)"
                j = nxt
            parts.append(("heading", i, j, _goal_name(lines[j])))
            ctx.used.update(range(i, j + 1))
            i, after_heading = j + 1, True
        elif after_heading:
            j = i
            while (k := _next_nonblank(lines, j + 1, n)) is not None and k not in headers:
                if lines[k].strip().startswith(_BULLET):
                    break
                j = k
            parts.append(("kpi", i, j))
            i, after_heading = j + 1, False
        else:
            parts.append(("other", i, i))
            i += 1
    return parts


def _goal_name(t: str) -> str:
    """`Citizen重点目標① 「最適化による…」 取組状況` -> `重点目標① 最適化による…`."""
    m = re.search(r"「\s*(.+?)\s*」", t)
    name = m.group(1) if m else t.replace("取組状況", "").strip()
    prefix = re.sub(r"^[A-Za-z ]+", "", t[: m.start()] if m else "").strip()
    return f"{prefix} {name}" if prefix else name


def _assign_goals(
    ctx: _Ctx, parts: list[tuple], headers: list[int], start: int
) -> tuple[list[str], list[int]]:
    """Bullets take the first heading after them before the next page header, else the last one before them.

    Returns each part's goal and the 1-based line of the heading it was read from (0: none).
    """
    goals: list[str] = []
    heads: list[int] = []
    last, last_head = "", 0
    for k, part in enumerate(parts):
        if part[0] == "heading":
            last, last_head = part[3], part[2] + 1
        if part[0] != "bullets":
            goals.append(last)
            heads.append(last_head)
            continue
        page_end = next((h for h in headers if h > part[1]), len(ctx.lines))
        later = next((p for p in parts[k + 1 :] if p[0] == "heading" and p[1] < page_end), None)
        goals.append(later[3] if later else last)
        heads.append(later[2] + 1 if later else last_head)
    _split_blocks(ctx, parts, goals, start)
    return goals, heads


def _split_blocks(ctx: _Ctx, parts: list[tuple], goals: list[str], start: int) -> None:
    """Name the bullet blocks of a heading that owns several, from the vertical one-character row labels."""
    vertical = [p[1] for p in parts if p[0] == "other" and len(ctx.lines[p[1]].strip()) == 1]
    ctx.used.update(vertical)  # vertical text is known noise once read
    text = "".join(ctx.lines[i].strip() for i in vertical)
    overview = re.sub(r"\s+", "", "".join(ctx.lines[:start]))
    for goal in dict.fromkeys(goals):
        idx = [k for k, p in enumerate(parts) if p[0] == "bullets" and goals[k] == goal]
        if len(idx) < 2:
            continue
        names = _split_labels(text, overview, len(idx))
        if names is None:
            ctx.warn(
                parts[idx[1]][1], f"cannot name the {len(idx)} bullet blocks of {goal!r} from the row labels"
            )
            continue
        for k, name in zip(idx, names, strict=True):
            goals[k] = name


def _split_labels(text: str, overview: str, n: int) -> list[str] | None:
    """Cut `text` into `n` pieces that each occur in the overview page (shortest first piece first).

    Iterative and polynomial: a piece `text[p:q]` occurs iff q <= reach[p] (a substring of an occurring string
    occurs too), and `tails[r]` lists the offsets from which the rest of `text` cuts into r pieces.
    """
    size = len(text)
    if n < 1 or n > size:
        return None
    reach, q = [], 0
    for p in range(size):
        q = max(q, p)
        while q < size and text[p : q + 1] in overview:
            q += 1
        reach.append(q)
    tails = [[], [p for p in range(size) if reach[p] == size]]
    for r in range(2, n + 1):
        prev = tails[r - 1]
        tails.append([p for p in range(size) if _first_after(prev, p, reach[p]) is not None])
    if not tails[n] or tails[n][0] != 0:
        return None
    out, pos = [], 0
    for r in range(n, 1, -1):
        nxt = _first_after(tails[r - 1], pos, reach[pos])
        assert nxt is not None
        out.append(text[pos:nxt])
        pos = nxt
    return [*out, text[pos:]]


def _first_after(sorted_offsets: list[int], p: int, limit: int) -> int | None:
    """The smallest offset q in `sorted_offsets` with p < q <= limit."""
    i = bisect.bisect_right(sorted_offsets, p)
    return sorted_offsets[i] if i < len(sorted_offsets) and sorted_offsets[i] <= limit else None


# --- initiatives ------------------------------------------------------------------------------------------


@dataclass
class _Bullet:
    text: str
    start: int
    block: int
    end: int = 0
    detail: list[str] = field(default_factory=list)
    new: bool = False

    def marked(self) -> bool:
        """Evidence of a concrete initiative: a detail, a figure, brackets or 【新規】."""
        return bool(self.detail) or self.new or bool(re.search(r"[\d（(「【]", nfkc(self.text)))


def _bullets(ctx: _Ctx, first: int, last: int) -> list[_Bullet]:
    out: list[_Bullet] = []
    block, prev = 0, -2
    for i in range(first, last + 1):
        t = ctx.lines[i].strip()
        if not t:
            continue
        ctx.used.add(i)
        if t.startswith(_BULLET):
            block += prev != i - 1
            out += [_Bullet(p.strip(), i, block, i) for p in t.split(_BULLET) if p.strip()]
        elif not out:
            ctx.warn(i, "text before the first bullet of a block")
        elif t == _NEW:
            out[-1].new, out[-1].end = True, i
        elif t.startswith(_DETAIL_START) or out[-1].detail:
            out[-1].detail.append(t.removeprefix(_FOLLOW).strip())
            out[-1].end = i
        else:
            out[-1].text, out[-1].end = out[-1].text + t, i
        prev = i
    for b in out:
        b.new = b.new or _NEW in b.text or any(_NEW in d for d in b.detail)
        b.text = b.text.replace(_NEW, "").strip()
        b.detail = [d.replace(_NEW, "").strip() for d in b.detail if d.replace(_NEW, "").strip()]
    return out


def _guideline_flags(bullets: list[_Bullet]) -> list[bool]:
    """Guidelines (ポリシー行動指針) = the unmarked bullets opening a blank-separated group, unless the group
    right after a pure guideline group (guidelines are followed by initiatives) or no initiative follows them."""
    flags = [False] * len(bullets)
    last_marked = max((k for k, b in enumerate(bullets) if b.marked()), default=-1)
    prev_pure = False
    for blk in dict.fromkeys(b.block for b in bullets):
        idx = [k for k, b in enumerate(bullets) if b.block == blk]
        run = []
        for k in idx:
            if bullets[k].marked():
                break
            run.append(k)
        if run and not prev_pure and run[-1] < last_marked:
            for k in run:
                flags[k] = True
        prev_pure = bool(run) and len(run) == len(idx) and flags[run[0]]
    return flags


def _initiatives(ctx: _Ctx, first: int, last: int, goal: str, head: int) -> list[Initiative]:
    bullets = _bullets(ctx, first, last)
    out: list[Initiative] = []
    guideline: str | None = None
    guideline_lines: list[int] = []
    in_run = False
    for b, is_guideline in zip(bullets, _guideline_flags(bullets), strict=True):
        if is_guideline:
            guideline = f"{guideline} / {b.text}" if in_run and guideline else b.text
            run = list(range(b.start + 1, b.end + 2))
            guideline_lines = guideline_lines + run if in_run else run
        else:
            out.append(
                Initiative(
                    doc_id=ctx.doc_id,
                    goal=goal,
                    guideline=guideline,
                    text=b.text,
                    detail=" ".join(b.detail) or None,
                    new=b.new,
                    line_start=b.start + 1,
                    line_end=b.end + 1,
                    context_lines=([head] if head else []) + (guideline_lines if guideline else []),
                )
            )
        in_run = is_guideline
    return out


# --- KPI boxes --------------------------------------------------------------------------------------------


@dataclass
class _Atom:
    kind: str  # year | value | target | rate | note
    line: int
    text: str = ""
    year: str | None = None
    forward: bool = False
    end: int = -1  # last line (a value or note continuation may sit on a later line)

    def span(self) -> list[int]:
        return [
            self.line,
            max(self.line, self.end),
        ]  # a note standing just before a label belongs to that label's box


@dataclass
class _Box:
    label_lines: list[int]
    years: dict[str, _Atom] = field(default_factory=dict)
    target: _Atom | None = None
    rate: _Atom | None = None
    notes: list[_Atom] = field(default_factory=list)

    def takes(self, a: _Atom) -> bool:
        """Whether the atom fits a free slot of this box."""
        if a.kind == "year":
            return a.year not in self.years and len(self.years) < 2
        return a.kind == "note" or getattr(self, a.kind) is None

    def put(self, a: _Atom) -> None:
        if a.kind == "year":
            self.years[a.year or ""] = a
        elif a.kind == "note":
            self.notes.append(a)
        else:
            setattr(self, a.kind, a)


def _atoms(t: str, i: int) -> list[_Atom] | None:
    """Atoms of one line, or None when the line holds label text."""
    out, pos, t = [], 0, t.strip()
    while pos < len(t):
        if t[pos].isspace():
            pos += 1
            continue
        m = _ATOM_RE.match(t, pos)
        if not m or m.end() == pos:
            return None
        if m.group("note"):
            out.append(_Atom("note", i, m.group("note")))
        elif m.group("tyear"):
            out.append(_Atom("target", i, m.group("tval"), nfkc(m.group("tyear"))))
        elif m.group("rate"):
            out.append(_Atom("rate", i))
        elif m.group("year"):
            out.append(_Atom("year", i, year=nfkc(m.group("year"))))
        else:
            out.append(_Atom("value", i, m.group("value")))
        pos = m.end()
    return out


def _kpi_stream(ctx: _Ctx, first: int, last: int) -> list[_Atom | list[int]]:
    """Label groups (lists of line indexes) and filled atoms, in reading order."""
    stream: list[_Atom | list[int]] = []
    pending: _Atom | None = None
    i = first
    while i <= last:
        t = ctx.lines[i].strip()
        atoms = _atoms(t, i) if t else []
        ctx.used.add(i)
        if atoms is None:  # label text: adjacent label lines form one label
            if stream and isinstance(stream[-1], list) and stream[-1][-1] == i - 1:
                stream[-1].append(i)
            else:
                stream.append([i])
        for a in atoms or []:
            if a.kind == "note" and len(atoms or []) == 1:
                while i + 1 <= last and ctx.lines[i + 1].strip() and _atoms(ctx.lines[i + 1], i + 1) is None:
                    i += 1
                    a.text, a.end = a.text + ctx.lines[i].strip(), i
                    ctx.used.add(i)
                nxt = _next_nonblank(ctx.lines, i + 1, last + 1)
                a.forward = nxt is not None and _atoms(ctx.lines[nxt], nxt) is None
            if a.kind == "value":
                if pending is None:
                    ctx.warn(a.line, f"KPI value {a.text!r} has no year tag or 達成率 before it")
                    continue
                pending.text, pending.end = a.text, a.line
                stream.append(pending)
                pending = None
            elif a.kind in ("year", "rate"):
                if pending is not None:
                    ctx.warn(pending.line, f"{pending.kind} tag without a value")
                pending = a
            else:
                stream.append(a)
        i += 1
    if pending is not None:
        ctx.warn(pending.line, f"{pending.kind} tag without a value")
    return stream


def _drop_captions(ctx: _Ctx, stream: list) -> list:
    """Label text with no atom on either side before the next label is a photo caption."""
    out: list = []
    for k, item in enumerate(stream):
        if isinstance(item, list):
            before = not out or isinstance(out[-1], list)
            after = k + 1 >= len(stream) or isinstance(stream[k + 1], list)
            if before and after:
                for i in item:
                    ctx.warn(i, "text in a KPI area with no figure next to it (photo caption?)")
                continue
        out.append(item)
    return out


def _assemble(ctx: _Ctx, stream: list) -> list[_Box]:
    boxes = [_Box(item) for item in stream if isinstance(item, list)]
    if not boxes:
        for a in stream:
            ctx.warn(a.line, "KPI figure with no label on its page")
        return []
    cur, seen = 0, -1
    forward: list[_Atom] = []
    for item in stream:
        if isinstance(item, list):
            seen += 1
            cur = max(cur, seen)
            for a in forward:
                boxes[seen].put(a)
            forward = []
        elif item.kind == "note" and item.forward and seen + 1 < len(boxes):
            forward.append(item)
        elif boxes[cur].takes(item):
            boxes[cur].put(item)
        elif cur + 1 < len(boxes) and boxes[cur + 1].takes(item):
            cur += 1
            boxes[cur].put(item)
        else:
            ctx.warn(item.line, f"KPI {item.kind} {item.text!r} fits no box near it")
    return boxes


def _kpi_boxes(ctx: _Ctx, first: int, last: int, goal: str, head: int) -> list[ProgressKpi]:
    boxes = _assemble(ctx, _drop_captions(ctx, _kpi_stream(ctx, first, last)))
    out = []
    for box in boxes:
        years = sorted(box.years, key=lambda y: fiscal_year(y) or 0)
        latest = years[-1] if years else None
        base = years[0] if len(years) == 2 else None
        q = {y: parse_quantity(box.years[y].text) for y in years}
        target = parse_quantity(box.target.text) if box.target else None
        atoms = [*box.years.values(), box.target, box.rate, *box.notes]
        lines = box.label_lines + [n for a in atoms if a is not None for n in a.span()]
        unit = next((x.unit for x in (q.get(latest or ""), q.get(base or ""), target) if x and x.unit), None)
        out.append(
            ProgressKpi(
                doc_id=ctx.doc_id,
                kpi_id="",
                goal=goal,
                name="".join(ctx.lines[i].strip() for i in box.label_lines),
                unit=unit,
                baseline=q.get(base) if base else None,
                baseline_year_raw=base,
                latest=q.get(latest) if latest else None,
                latest_year_raw=latest,
                target=target,
                target_year_raw=box.target.year if box.target else None,
                achievement_rate_raw=box.rate.text if box.rate else None,
                notes=[a.text for a in box.notes],
                line_start=min(lines) + 1,
                line_end=max(lines) + 1,
                context_lines=[head] if head else [],
            )
        )
    return out
