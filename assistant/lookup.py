"""Grounded look-ups over the retrieved hits: is a hit about what was asked, which KPI or passage answers it.

A hit is trusted when the question's content words are in it (coverage), when both rankers agree, or when the
question (or the conversation) names its record (entity linking pins it: `ranks["link"]`).
"""

from __future__ import annotations

import re

from assistant.answer import answer_glossary, answer_list, answer_passage, answer_what
from assistant.answer_kpi import answer_kpi, kpis_for, no_kpi
from assistant.answer_types import asked_type, holds_type, own_area, types, without
from assistant.draft import Draft, abstain
from assistant.english import latin_share
from assistant.intent import Intent, topic_of
from assistant.join import initiative_for, report_bullet_for
from assistant.knowledge import Knowledge, squash
from assistant.linker import Linker
from assistant.query import LINK_NAME, asks_report
from assistant.retrieve import Filters, Hit, HybridSearcher
from assistant.verify import asks_counter, counts_in, missing_asked
from ingest.normalize import nfkc
from ingest.records import Chunk
from ingest.tokenize import content_tokens

__all__ = ["Lookup", "MIN_COVERAGE", "LOW_COVERAGE", "asks_kpi"]

MIN_COVERAGE = 0.5
# both rankers agreeing at the top, this little of the question's words will do (everyday words share few with
# the record: 「農業にITとかロボット」 for アグリテック); 0.34 before, 0.2 and 0.25 fix the same on the development halves
LOW_COVERAGE = 0.25
HEADING_NAMED = 0.6  # a question holding this share of a heading's words names the passage under it


class Lookup:
    """The retrieval-grounded steps; `Router` builds on them."""

    def __init__(self, searcher: HybridSearcher, k: Knowledge, generic: set[str], linker: Linker) -> None:
        self.searcher = searcher
        self.linker = linker
        self.k = k
        self.generic = generic
        self._by_ref = {c.record_ref: c for c in searcher.index.chunks.values()}
        # the area the documents are about (宮城) answers no 「どこ」: left out wherever a place is looked for
        self.area = own_area(c.text for c in searcher.index.chunks.values())

    def chunk_for(self, ref: str) -> Chunk | None:
        return self._by_ref.get(ref)

    def _confident(self, q: str, h: Hit, pos: int) -> bool:
        """Is hit `h` (at position `pos`) about what the question asks? Lexical evidence, or both rankers agree."""
        if "link" in h.ranks:
            return True
        lex, dense = h.ranks.get("lexical", 99), h.ranks.get("dense", 99)
        if (
            latin_share(q) > 0.5
        ):  # an English question: Japanese tokens cannot overlap, trust the dense ranker
            japanese = [  # 「(電子決裁) rate」: the name it gives (the documents' own title names no passage)
                x
                for x in re.findall(r"[\u3040-\u30ff\u4e00-\u9fff]{2,}", q)
                if not any(x in t for t in self.k.titles.values())
            ]
            return (
                self.k.coverage(q, h.chunk.text, self.generic) >= MIN_COVERAGE
                or (pos <= 2 and dense <= 3)
                or (pos == 0 and lex == 1)  # the top hit, first for the words Sudachi reads as loanwords too
                or (bool(japanese) and all(squash(x) in squash(h.chunk.text) for x in japanese))
            )
        if pos and not self.k.names_known(q, self.generic):
            # no word of the question is the documents' (「★マークは？」): every passage covers it vacuously; below
            # the top hit only both rankers agreeing count
            return lex <= 3 and dense <= 3
        # words the corpus never uses say nothing about which record is meant (「法律上」 for 「法令」)
        cov = self.k.coverage(q, h.chunk.text, self.generic, known_only=True)
        if cov >= MIN_COVERAGE:
            return True
        # first in both rankers is the strongest agreement there is, wherever a kind preference moved the hit
        return (pos == 0 or lex == dense == 1) and cov >= LOW_COVERAGE and lex <= 2 and dense <= 2

    def _focus(
        self, q: str, hits: list[Hit], k: Knowledge, kinds: tuple[str, ...], top: int = 5
    ) -> list[str]:
        for i, h in enumerate(hits[:top]):
            if h.chunk.kind in kinds and h.chunk.measure_ids and self._confident(q, h, i):
                return h.chunk.measure_ids[:1]
        return []

    def _kpi(self, q: str, intent: Intent, ids: list[str], hits: list[Hit], k: Knowledge) -> Draft | None:
        plan: list = []
        boxes: list = []
        if ids:
            plan, boxes = kpis_for(k, ids[0])
            if not plan and not boxes:
                return self._without_kpi(q, intent, ids[0])
        else:
            order = ("progress_kpi", "kpi") if intent.has("actual", "met") else ("kpi", "progress_kpi")
            best = self._best_kpi_hit(q, hits, order)
            if best is None:
                if intent.has("actual", "met"):
                    passage = self._progress_passage(q, hits)
                    if passage:
                        return passage
                focus = self._focus(q, hits, k, kinds=("measure",), top=3)
                if (
                    focus
                    and asks_kpi(q, intent)
                    and not k.kpis_by_measure.get(focus[0])
                    and not k.progress_by_measure.get(focus[0])
                ):
                    return self._without_kpi(q, intent, focus[0])
                return None
            rec = best.chunk.record_ref
            if best.chunk.kind == "kpi" and rec in k.kpi_by_id:
                plan = [k.kpi_by_id[rec]]
            elif rec in k.progress_by_id:
                p = k.progress_by_id[rec]
                boxes = [p]
                if p.plan_kpi_id in k.kpi_by_id:
                    plan = [k.kpi_by_id[p.plan_kpi_id]]
        if (
            intent.has("actual", "met", "report")
            and not boxes
            and not any(k.progress_by_plan.get(x.kpi_id) for x in plan)
        ):
            joined = next((r for x in plan if (r := initiative_for(x, self.linker, k))), None)
            chunk = self._by_ref.get(joined or "")
            if chunk is not None:  # the report carries this KPI's actual in an initiative bullet
                return answer_kpi(k, plan, [], intent, bullet=answer_passage(chunk, k))
            # no report figure of this KPI: a confident report bullet that prints the asked count answers instead
            passage = self._progress_passage(q, hits)
            if passage and (not plan or (asks_counter(q) and missing_asked(q, passage.lines) is None)):
                return passage
            d = answer_kpi(k, plan, boxes, intent)
            return self._same_subject(d, plan, intent) if d.lines else None
        d = answer_kpi(k, plan, boxes, intent)
        return d if d.lines else None

    def _without_kpi(self, q: str, intent: Intent, mid: str) -> Draft | None:
        """A measure with no KPI: for its actual, what the report says was done on it (its bullet), else say so."""
        m = self.k.primary(mid)
        bullet = (
            report_bullet_for(m.name, self.linker, self.k, LINK_NAME)
            if m and m.name and intent.has("actual")
            else None
        )
        if bullet and bullet in self._by_ref:
            return answer_passage(self._by_ref[bullet], self.k)
        return no_kpi(self.k, mid) if asks_kpi(q, intent) else None

    def _same_subject(self, d: Draft, plan: list, intent: Intent) -> Draft:
        """The report prints no figure of this KPI, but a bullet on its subject (「○○チェック（N人/実施率N%）」 for
        the KPI 「○○チェックにおける理解度の平均」): quoted as another figure, so plan and report can be set side
        by side. It answers a question asking both; it is no actual of the KPI."""
        ref = next(
            (r for x in plan if (r := report_bullet_for(x.item, self.linker, self.k, LINK_NAME))), None
        )
        chunk = self._by_ref.get(ref or "")
        if chunk is None or chunk.kind != "initiative":
            return d
        bullet = answer_passage(chunk, self.k)
        d.lines.append(
            f"なお、実績報告には同じ対象の取組として次の記載があります（計画の指標とは別の数値です）。{bullet.lines[0]}"
        )
        d.evidence += bullet.evidence
        d.answerable = d.answerable or intent.has("kpi", "target", "baseline")
        return d

    def _may_be_same_kpi(self, a: str, b: str) -> bool:
        """A plan KPI and a report box are one KPI unless the box is linked to another plan KPI."""
        boxes = self.k.progress_by_id
        box, plan = (boxes[a], b) if a in boxes else (boxes.get(b), a)
        return box is None or box.plan_kpi_id is None or box in self.k.progress_by_plan.get(plan, [])

    def _best_kpi_hit(self, q: str, hits: list[Hit], order: tuple[str, ...]) -> Hit | None:
        for i, h in enumerate(hits[:6]):  # a KPI in another counter than the asked one does not answer it
            if (
                h.chunk.kind in order
                and self._confident(q, h, i)
                and counts_in(q, self.k.unit_of(h.chunk.record_ref))
            ):
                if "link" in h.ranks:  # the question names this record: it is the subject
                    return h
                for h2 in hits[i + 1 : 6]:
                    if (
                        h2.chunk.kind == order[0] != h.chunk.kind
                        and h2.chunk.measure_ids
                        and set(h2.chunk.measure_ids) & set(h.chunk.measure_ids)
                        and self._may_be_same_kpi(h.chunk.record_ref, h2.chunk.record_ref)
                    ):
                        return h2
                return h
        return None

    def _progress_passage(self, q: str, hits: list[Hit]) -> Draft | None:
        """An actual that no KPI box holds may be in the report's initiatives (a bullet's 「…（N人）」)."""
        for i, h in enumerate(hits[:6]):
            if h.chunk.kind in ("initiative", "totals") and self._confident(q, h, i):
                return answer_passage(h.chunk, self.k)
        own = self.searcher.search(q, 3, filters=Filters(kind="initiative"))
        if own and (
            self.k.coverage(q, own[0].chunk.text, self.generic) >= MIN_COVERAGE
            or (latin_share(q) > 0.5 and own[0].ranks.get("dense", 99) <= 3)
        ):
            return answer_passage(own[0].chunk, self.k)
        return None

    def _next_passage(self, c: Chunk) -> Chunk | None:
        """The passage that follows `c` in the same section (lists often continue there)."""
        if c.kind != "section" or "#" not in c.record_ref:
            return None
        sec, j = c.record_ref.rsplit("#", 1)
        return self._by_ref.get(f"{sec}#{int(j) + 1}")

    def _passage(self, q: str, intent: Intent, hits: list[Hit], k: Knowledge) -> Draft:
        """The best-supported hit: most question words covered, then the kind the question is about."""
        prefer = {"measure": 3, "kpi": 2, "progress_kpi": 2, "section": 1, "initiative": 1, "totals": 1}
        if intent.has("glossary", "glossary_maybe"):
            prefer["glossary"] = 4
        if intent.has("count_items"):  # 「施策はいくつ？」: the documents state such counts in their text
            prefer = {"section": 4, "totals": 3}
        elif asks_report(intent, k):  # 「R5に…」: what the report says was done that year
            prefer |= {"initiative": 4, "progress_kpi": 4, "totals": 4}
        asked = asked_type(q)  # 「いつ？」: the passages that hold a date first
        # the question's own words, without the Japanese terms read into English
        own = re.sub(r"（[^）]+）", " ", q)
        ranked = sorted(
            (
                (  # a passage without the asked kind of thing (a date for 「いつ」) would not be sent: it comes last
                    bool(asked and holds_type(asked[0], without(h.chunk.text, self.area), q)),
                    round(k.coverage(q, h.chunk.text, self.generic), 1),
                    # then the passage under a heading the question names (「…宣言」 over 「重点目標」 quoting it)
                    h.chunk.kind == "section" and _heading_named(own, h.chunk.section or "", k),
                    missing_asked(q, [h.chunk.text]) is None,  # 「何件？」: one that prints a count in 件
                    prefer.get(h.chunk.kind, 0),
                    -i,
                    h,
                )
                for i, h in enumerate(hits[:5])
                if self._confident(q, h, i) and (h.chunk.kind in prefer or not intent.has("count_items"))
            ),
            # an English question's words cannot overlap the Japanese passages: the retrievers' order decides,
            # after a heading it names in the documents' own term (「the basic goal (基本目標)」)
            key=(lambda x: (x[2], x[5])) if latin_share(q) > 0.5 else (lambda x: x[:6]),
            reverse=True,
        )
        if asked and types()[asked[0]].get("deep") and not any(x[0] for x in ranked):
            ranked = self._typed(q, asked[0]) + ranked
        for *_, h in ranked:
            c = h.chunk
            if c.kind == "measure" and c.measure_ids:
                return answer_what(k, c.measure_ids[0])
            if c.kind == "glossary":
                return answer_glossary(c)
            if c.kind in ("kpi", "progress_kpi"):
                d = self._kpi(q, intent, c.measure_ids[:1], [h], k)
                if d:
                    return d
            return answer_passage(c, k, q, self._next_passage(c))
        return abstain("ご質問の内容は、計画と実績報告のどちらにも記載が見当たりません。")

    def _typed(self, q: str, kind: str) -> list[tuple]:
        """No passage retrieved holds the asked kind of thing: the keyword ranker's first passage that holds it
        and most of the question's words (the paragraph saying which plans were 継承 ranks low in the dense one)."""
        english = latin_share(q) > 0.5  # its words cannot overlap the Japanese passages: the dense one's top
        for h in self.searcher.search(q, 8 if english else 5, method="dense" if english else "lexical"):
            if holds_type(kind, without(h.chunk.text, self.area), q) and (
                english
                or round(self.k.coverage(q, h.chunk.text, self.generic, known_only=True), 1) >= MIN_COVERAGE
            ):
                return [(h,)]
        return []

    def _topic_list(self, q: str, k: Knowledge) -> Draft | None:
        """The measures whose names hold every word of the question's topic; a word no measure name has may be
        left out only when it is common in the documents (関係, 関連), never a specific one (「スマート」)."""
        names = [(m, nfkc(m.name).lower()) for m in k.catalog.measures if m.name and not m.relisted]
        words = [t for t in content_tokens(topic_of(q)) if t not in self.generic and len(t) > 1]
        topic = [t for t in words if any(t in n for _, n in names)]
        if not topic or any(not k.is_common(t, 0.03) for t in words if t not in topic):
            return None
        named = [m for m, n in names if all(t in n for t in topic)]
        if len(named) < 2:
            return None
        return answer_list(k, f"名称に「{'・'.join(topic)}」を含む施策", named)


def _heading_named(q: str, section: str, k: Knowledge) -> bool:
    """Does the question hold most of the words of the passage's own heading (the last of its heading path)?"""
    heading = section.rsplit(" > ", 1)[-1]
    return bool(heading) and k.coverage(heading, q) >= HEADING_NAMED


def asks_kpi(q: str, intent: Intent) -> bool:
    """An explicit question for a KPI or a figure (not 「何を目指しているの？」, which asks what a measure is for)."""
    return intent.has("kpi", "actual", "met", "figure", "baseline") or bool(
        re.search(r"目標値|数値|何件|何%|いくつ", q)
    )
