"""Routing: a declared order of answerers for one understood `Part`; the first that answers wins.

Each step is a method that returns a `Draft` or None ("not mine"); the last resort is a passage, and with no
trusted passage an abstention that names what the documents lack.
"""

from __future__ import annotations

import re

from assistant.aggregate import answer_aggregate, answer_pending
from assistant.answer import (
    answer_as_of,
    answer_glossary,
    answer_list,
    answer_owner,
    answer_passage,
    answer_totals,
    answer_what,
)
from assistant.compose import with_owner
from assistant.draft import Draft, abstain, fy_phrase
from assistant.english import latin_share
from assistant.facts import answer_claim, answer_which_measure
from assistant.intent import Intent, japanese_terms_in
from assistant.knowledge import Knowledge, squash
from assistant.linker import Linker
from assistant.lookup import Lookup
from assistant.outline import Outline, counts_parts
from assistant.query import Part, claim_free
from assistant.retrieve import Hit, HybridSearcher
from assistant.subjects import cite_bullets
from ingest.normalize import MEASURE_ID_RE, normalize_measure_id
from ingest.tokenize import place_names, tokenize

__all__ = ["Router", "related_ids"]

# staff names and contacts are not in the documents; the department in charge is
NO_CONTACT = (
    "資料には担当者の氏名・電話番号・メールアドレスなどの連絡先は記載されていません。"
    "担当所属（部局・課）であればお答えできます。"
)

NAMED_THING = 0.5  # a part naming half of some record's name asks about that thing, not the whole
# these name a KPI figure (a baseline's date too: 「その値はいつ時点？」); 「率」「何件」 alone may ask a description
NAMED_KPI_ASKS = ("target", "baseline", "kpi", "actual", "met", "baseline_date")
KPI_ASKS = (*NAMED_KPI_ASKS, "figure")
_SET_WORDS = "報告書 実績報告 載る 載ってる 主な ある 有る ない 何 どんな 教える 見る 知る ください KPI 指標 取組 主要 新規 達成 届く 未達 下回る 上回る クリア 一覧 見せる リスト 全て どれ 重点 基盤 状況 R5 R6 年度 実績 目標 担当 する いる ない"


class Router(Lookup):
    """Answers one part over one index (shared by requests: holds no per-request state)."""

    def __init__(self, searcher: HybridSearcher, k: Knowledge, generic: set[str], linker: Linker) -> None:
        super().__init__(searcher, k, generic, linker)
        self.outline = Outline(k, generic)

    def route(self, part: Part, hits: list[Hit]) -> tuple[Draft, list[str]]:
        """The answer to one part, and the measures related to it (suggested when it abstains)."""
        draft, related = self._route(part, hits)
        return with_owner(part, cite_bullets(draft, self.linker, self.k), self.k), related

    def _route(self, part: Part, hits: list[Hit]) -> tuple[Draft, list[str]]:
        q, intent, ids, k = part.text, part.intent, list(part.ids), self.k
        related = related_ids(ids, hits)
        unknown = self._unknown_ids(q, k)
        if unknown and not ids:
            close = k.close_ids(unknown[0])
            return abstain(
                f"「{unknown[0]}」という施策番号は計画にありません。近い番号: {'、'.join(close)}。"
            ), close
        if intent.has("contact"):
            return abstain(NO_CONTACT), related
        if intent.has("person"):
            return self._person(q, hits, k), related
        if intent.has("opinion"):
            return abstain(
                "資料に書かれた事実のみお答えしています。評価や意見は資料に含まれていません。"
            ), related
        beyond = self._beyond_period(intent, k)
        if beyond:
            return beyond, related
        if intent.has("as_of") and not ids and not self._best_kpi_hit(q, hits, ("kpi", "progress_kpi")):
            d = answer_as_of(k)
            if d.lines:
                return d, related
        if intent.has("pending") and not ids:  # 「（調整中）の施策は？」: a list, whichever word asks for it
            pending = answer_pending(q, k)
            if pending:
                return pending, related
        if intent.has("which_measure"):
            owned = answer_which_measure(k, self._best_kpi_hit(q, hits, ("kpi", "progress_kpi")))
            if owned:
                return owned, related
        pinned = self._pinned(part, hits)
        if pinned:
            return pinned, related
        glossary = self._glossary(q, intent, hits)
        if glossary:
            return glossary, related
        if intent.has("budget"):
            # the report states totals only, no item's budget; a question about the totals names them (「関連事業に
            # …いくら」) or the report (「実績報告の金額」); an English one unless it names a thing in the documents' terms
            totals = bool(self.linker.link(q, kinds=("totals",)))
            overall = totals or intent.has("report") or (latin_share(q) > 0.5 and not japanese_terms_in(q))
            # a department's or a measure's own amount is not the policy's totals
            specific = ids or part.named >= NAMED_THING or not overall or bool(k.department_hits(q))
            return self._budget(q, list(ids) or (["?"] if specific else []), k, intent.years), related
        counted = not ids and ((intent.has("count") and not intent.has("count_items")) or counts_parts(q))
        if counted and counts_parts(q):  # 「5つの柱を全部挙げて」: the parts counted are headings, not a list
            outline = self.outline.answer(q, intent)
            if outline:
                return outline, related
        listing = None if part.claims else self._list(q, intent, ids, hits, k)  # a claim names a department
        if listing:
            return listing, related
        if counted:  # 「重点目標はいくつ？」「3つの重点目標は？」: counted parts
            outline = self.outline.answer(q, intent)
            if outline:
                return outline, related
        if not ids and not part.claims:
            agg = answer_aggregate(q, intent, k, topic=self._topic_words(q, k))
            if agg:
                return agg, related
        if intent.has(*KPI_ASKS) and not (ids and intent.has("what") and not intent.has(*NAMED_KPI_ASKS)):
            kd = self._kpi(q, intent, ids, hits, k)
            if kd:
                mids = ids[:1] or _kpi_measures(kd)
                if (
                    intent.has("owner", "start_year") and kd.answerable and mids
                ):  # compound: owner and figures
                    owner = answer_owner(k, mids[0], intent)
                    owner.extend(kd)
                    return owner, related
                return kd, related
        focus = ids[:1] or self._focus(claim_free(part, k), hits, k, kinds=("measure", "kpi", "progress_kpi"))
        if part.claims and focus:
            return answer_claim(k, focus[0], part.claims, intent, q), related
        if intent.has("owner", "start_year") and focus:
            return answer_owner(k, focus[0], intent), related
        if ids and (intent.has("what", "glossary_maybe") or not intent.asks):
            return answer_what(k, ids[0]), related
        outline = self.outline.answer(q, intent)
        if outline:
            return outline, related
        return self._passage(q, intent, hits, k), related

    def _person(self, q: str, hits: list[Hit], k: Knowledge) -> Draft:
        """A person or role (座長, 本部長) is answered only from a passage that names that role; staff names and
        contacts are not in the documents, and a name is never guessed."""
        roles = re.findall(r"[\u4e00-\u9fff]*?(?:[課部室座]長|本部長|委員長|会長|知事)", q)
        for i, h in enumerate(hits[:5]):
            text = squash(h.chunk.text)
            if roles and any(squash(r) in text for r in roles) and self._confident(q, h, i):
                return answer_passage(h.chunk, k, q)
        return abstain(NO_CONTACT)

    def _topic_words(self, q: str, k: Knowledge) -> frozenset[str]:
        """The question's words beyond question words, a goal, a department and set words: the topic it names
        (「重点目標③のKPI」 names none; 「マイナンバーのKPI」 names one)."""
        goals = k.goal_hits(q)
        named = " ".join(goals + k.department_hits(q) + k.mentioned(q, k.bureaus))
        ignore = self.generic | set(tokenize(named)) | set(tokenize(_SET_WORDS))
        # a goal named beside its label in another script (「D for Business（働き方改革）」): the label is the goal's
        label = set(tokenize(" ".join(re.findall(r"[A-Za-z][A-Za-z ]+", q)))) if goals else set()
        return frozenset(t for t in tokenize(q) if t not in ignore | label and not t.isdigit() and len(t) > 1)

    def _unknown_ids(self, q: str, k: Knowledge) -> list[str]:
        out = []
        for m in MEASURE_ID_RE.finditer(q):
            mid = normalize_measure_id(m.group(0))
            prefix = re.match(r"\D+", mid)
            if prefix and prefix.group(0) in k.prefixes and mid not in k.listings:
                out.append(mid)
        return out

    def _beyond_period(self, intent: Intent, k: Knowledge) -> Draft | None:
        last_plan = k.last_plan_year
        future = [y for y in intent.years if y > last_plan]
        if future and intent.has("target", "kpi", "baseline", "actual", "met", "figure"):
            return abstain(
                f"計画期間は{_plan_period(k)}で、{fy_phrase(future[0])}の目標値・実績は資料に記載されていません。"
            )
        reported = [d.fiscal_year for d in k.catalog.documents if d.kind == "progress" and d.fiscal_year]
        if reported and intent.has("actual", "met") and not intent.has("target"):
            later = [y for y in intent.years if y > max(reported)]
            if later:
                return abstain(
                    f"実績報告は{fy_phrase(max(reported))}分までで、{fy_phrase(later[0])}の実績は資料にありません。"
                )
        return None

    def _glossary(self, q: str, intent: Intent, hits: list[Hit]) -> Draft | None:
        if not intent.has("glossary", "glossary_maybe"):
            return None
        sq = squash(q).lower()
        for i, h in enumerate(hits[:5]):
            if h.chunk.kind != "glossary":
                continue
            term = squash(re.sub(r"^用語解説 (?:\S+\. )?", "", h.chunk.text.split(": ", 1)[0])).lower()
            core = re.sub(r"（.*?）|\(.*?\)", "", term)
            if core and (core in sq or (intent.has("glossary") and self._confident(q, h, i))):
                return answer_glossary(h.chunk)
        return None

    def _pinned(self, part: Part, hits: list[Hit]) -> Draft | None:
        """A record the part names (or the conversation carries) answers from its own kind of record; a numbered
        measure only from the report bullet pinned for a question about the report year."""
        top = hits[0] if hits and "link" in hits[0].ranks else None
        if (
            top is None
            or part.intent.has("list", "which_measure")
            or part.claims
            or (part.ids and not part.carried and top.chunk.kind != "initiative")
        ):
            return None
        c = top.chunk
        if c.kind == "totals":
            return answer_totals(self.k, part.intent.years)
        if c.kind == "initiative":
            return answer_passage(c, self.k, part.text)
        if c.kind == "glossary" and part.intent.has("glossary", "glossary_maybe"):
            return answer_glossary(c)
        if c.kind == "measure" and c.measure_ids and not part.carried and not (part.intent.asks - {"what"}):
            return answer_what(self.k, c.measure_ids[0])  # 「基幹業務システムの構築ってどういう施策？」
        return None

    def _budget(self, q: str, ids: list[str], k: Knowledge, years: tuple[int, ...] = ()) -> Draft:
        """Totals when the question names no measure (the report states only the overall 事業数 and 決算額), for
        the years the report gives them (its own year and the reference year)."""
        if k.catalog.totals and not ids:
            return answer_totals(k, years)
        return abstain(
            "資料には個々の施策の予算額・事業費は記載されていません。"
            "実績報告にあるのはポリシー関連事業全体の事業数と決算額です。"
        )

    def _list(self, q: str, intent: Intent, ids: list[str], hits: list[Hit], k: Knowledge) -> Draft | None:
        # what is new (【新規】) is the report's to list, not the plan's measures of a goal
        if ids or intent.has("baseline", "actual", "met", "new"):
            return None
        goals = k.goal_hits(q)
        if intent.has("target") and not (intent.has("list") and goals):
            return None  # 「『…推進』の目標の下の施策を全部」: a goal named with 目標 is a goal, not a KPI target
        wants_list = intent.has("list") or re.search(
            r"施策|事業|取組|取り組み|measures|handle", q, re.IGNORECASE
        )
        if not wants_list:
            return None
        deps = k.department_hits(q)
        bureaus = [] if deps else k.mentioned(q, k.bureaus)
        if deps or bureaus:
            ms = [
                m
                for m in k.catalog.measures
                if any(o.section in deps or o.bureau in bureaus for o in m.owners)
            ]
            if ms:
                return answer_list(k, f"{'・'.join(deps or bureaus)}が担当する施策", ms)
        if goals and (
            intent.has("list", "count") or (intent.asks and re.search(r"施策|どれ|何", q))
        ):  # a list is asked for, not 「…する施策があるって聞いた」
            ms = [m for m in k.catalog.measures if m.goal in goals]
            if intent.has("pending"):
                ms = [m for m in ms if m.placeholder]
            if ms:
                return answer_list(k, f"「{goals[0]}」の主な個別施策", ms)
        if intent.has("list"):  # 「セキュリティ関係の施策は？」: the measures whose names hold the topic
            return self._topic_list(q, k)
        return None

    def scope(self, q: str, d: Draft, k: Knowledge) -> Draft:
        """A question about a place the cited records do not mention (another city or prefecture) is not answered
        with the records of the documents' own area. The area itself is named all over the corpus."""
        if not d.answerable:
            return d
        evidence = squash(" ".join(e.quote for e in d.evidence))
        for place in place_names(q):
            stem = re.sub(r"(都|道|府|県|市|区|町|村)$", "", squash(place))
            if stem in evidence or k.is_common(place):
                continue
            return abstain(
                f"資料には「{place}」についての記載が見当たりません（根拠資料が対象とする範囲の数値・施策のみ記載されています）。"
            )
        return d


def _kpi_measures(d: Draft) -> list[str]:
    return next((list(kpi["measure_ids"]) for kpi in d.kpis if kpi.get("measure_ids")), [])


def related_ids(ids: list[str], hits: list[Hit]) -> list[str]:
    return list(dict.fromkeys([*ids, *(mid for h in hits for mid in h.chunk.measure_ids)]))[:8]


def _plan_period(k: Knowledge) -> str:
    plans = [d for d in k.catalog.documents if d.kind == "plan" and d.period]
    return (plans[0].period if plans else None) or "資料に記載の期間"
