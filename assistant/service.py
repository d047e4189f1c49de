"""The answering service: question -> grounded, cited, verified Japanese answer (or an honest abstention).

Order of work: resolve follow-ups from `history`; detect what is asked; retrieve; answer from structured
records (owners, KPIs, progress boxes, glossary, totals) when they fit, from a retrieved passage otherwise;
verify every figure and department against the cited sources; abstain when nothing supports an answer.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from pathlib import Path

from langchain_core.language_models import BaseChatModel

from assistant import hygiene
from assistant.aggregate import answer_aggregate
from assistant.answer import (
    Draft,
    Evidence,
    answer_as_of,
    answer_glossary,
    answer_kpi,
    answer_list,
    answer_outline,
    answer_owner,
    answer_passage,
    answer_totals,
    answer_what,
    fy_phrase,
    kpis_for,
)
from assistant.intent import Intent, detect
from assistant.knowledge import Knowledge, squash
from assistant.llm import phrase
from assistant.retrieve import Filters, Hit, HybridSearcher, measure_ids_in
from assistant.schemas import AskRequest, AskResponse, Citation
from assistant.verify import verify_lines
from ingest.index import Index, current_index_dir, open_index
from ingest.normalize import MEASURE_ID_RE, nfkc, normalize_measure_id
from ingest.records import Chunk
from ingest.tokenize import place_names, tokenize

__all__ = ["Assistant", "AskRequest", "AskResponse", "InvalidQuestion"]

# Question words that say what is asked, not what about; they do not count as evidence.
_GENERIC = (
    "担当 所属 課 部 部署 どこ 所管 事業 開始 いつ から 年度 目標 目標値 値 現状 現状値 基準 実績 達成 達成率 率 最新 "
    "施策 教える 知る 何 なに どんな どう どの 内容 概要 目的 説明 ください 下さい 計画 ポリシー 宮城 宮城県 県 "
    "みやぎ について とは 意味 用語 一覧 全部 すべて 数 いくつ 件数 くらい どれ ある いる する なる できる 思う "
    "KPI 指標 進捗 状況 どう 予定 プラン 取組 取り組み 取り組む 行う 推進 情報化 的 化"
)
_EN_GENERIC = r"\b(what|which|who|when|how|is|are|the|of|for|in|a|an|does|do|to|tell|me|about|plan|measure|target|department)\b"
log = logging.getLogger("policy_assistant.service")
_SET_WORDS = "主な ある 有る ない 何 どんな 教える 見る 知る ください KPI 指標 取組 主要 新規 達成 届く 未達 下回る 上回る クリア 一覧 見せる リスト 全て どれ 重点 基盤 状況 R5 R6 年度 実績 目標 担当 する いる ない"
RELATED_PREFIX = "関連する施策: "
KPI_ASKS = ("target", "baseline", "kpi", "actual", "met", "figure")
MIN_COVERAGE = 0.5
LOW_COVERAGE = 0.34


class InvalidQuestion(ValueError):
    """A request the service cannot take; the message names the field, the limit and the fix."""


class Assistant:
    """Answers questions from one opened index; `reload` switches to a newer index after re-ingest.

    Everything derived from one index lives in one `_Engine`; a reload builds a new engine and swaps it in with a
    single assignment, so a request in flight finishes on the index it started with and never mixes two.
    """

    def __init__(
        self, index: Index, data_dir: Path | None = None, chat_model: BaseChatModel | None = None
    ) -> None:
        self.data_dir = data_dir
        self.chat_model = chat_model
        self._lock = threading.Lock()
        self._engine = _Engine(index, chat_model)

    @classmethod
    def open(cls, data_dir: Path, chat_model: BaseChatModel | None = None) -> Assistant:
        bot = cls(open_index(Path(data_dir)), Path(data_dir), chat_model)
        bot.warm_up()
        return bot

    @property
    def index(self) -> Index:
        return self._engine.index

    @property
    def searcher(self) -> HybridSearcher:
        return self._engine.searcher

    @property
    def k(self) -> Knowledge:
        return self._engine.k

    def warm_up(self) -> None:
        """Touch the embedder and the tokenizer once, so the first user does not pay for loading them."""
        for q in ("施策の担当課", "KPI目標値"):
            self._engine.searcher.search(q, 1)

    def reload(self) -> bool:
        """Re-open the data dir if CURRENT names a different index. Requests in flight finish on the old one."""
        if self.data_dir is None:
            return False
        with self._lock:
            if current_index_dir(self.data_dir) == self._engine.index.path:
                return False
            engine = _Engine(open_index(self.data_dir, embedder=self._engine.index.embedder), self.chat_model)
            self._engine = engine
            return True

    def ask(self, req: AskRequest) -> AskResponse:
        if not hygiene.has_content(req.question):  # controls, NULs, one symbol repeated: nothing to read
            return AskResponse(answer=hygiene.NO_CONTENT, answerable=False)
        return self._engine.ask(req)


class _Engine:
    """Routing and answering over one index (immutable once built)."""

    def __init__(self, index: Index, chat_model: BaseChatModel | None) -> None:
        self.chat_model = chat_model
        self.index = index
        self.searcher = HybridSearcher(index)
        self.k = Knowledge(index.catalog, index.lexical.doc_tokens)
        self.generic = set(tokenize(_GENERIC))
        self._by_ref = {c.record_ref: c for c in index.chunks.values()}
        sections = index.catalog.sections
        self._title_tokens = [(x, set(tokenize(x.title))) for x in sections if x.title]
        self._children: dict[str, list] = {}
        for x in sections:
            parent = next(
                (y for y in sections if y.doc_id == x.doc_id and y.path == x.path[:-1] and x.path), None
            )
            if parent is not None and parent is not x:
                self._children.setdefault(parent.section_id, []).append(x)

    # --- the public entry point -----------------------------------------------------------------------------
    def ask(self, req: AskRequest) -> AskResponse:
        t0 = time.perf_counter()
        k, searcher = self.k, self.searcher
        question = nfkc(req.question).strip()
        intent = detect(question)
        ids = measure_ids_in(question, set(k.listings))
        context_ids, context_q = self._context(req, ids, intent)
        # the question first: the dense query keeps only its head; the earlier turn adds context words for BM25
        query = f"{question} {context_q[:200]}" if context_q else question
        hits = searcher.search(query, k=max(req.top_k or 8, 8))
        t1 = time.perf_counter()
        draft, related = self._route(question, intent, ids or context_ids, hits, k)
        draft = self._scope(question, draft, k)
        resp = self._finish(draft, related, hits, k, question)
        resp.timings_ms = {
            "retrieve": round((t1 - t0) * 1000, 2),
            "total": round((time.perf_counter() - t0) * 1000, 2),
        }
        return resp

    def _scope(self, q: str, d: Draft, k: Knowledge) -> Draft:
        """A question about a place the cited records do not mention (another city or prefecture) is not answered
        with the records of the documents' own area. The area itself is named all over the corpus."""
        if not d.answerable:
            return d
        evidence = squash(" ".join(e.quote for e in d.evidence))
        for place in place_names(q):
            stem = re.sub(r"(都|道|府|県|市|区|町|村)$", "", squash(place))
            if stem in evidence or k.is_common(place):
                continue
            return _abstain(
                f"資料には「{place}」についての記載が見当たりません（根拠資料が対象とする範囲の数値・施策のみ記載されています）。"
            )
        return d

    # --- follow-ups -----------------------------------------------------------------------------------------
    def _context(self, req: AskRequest, ids: list[str], intent: Intent) -> tuple[list[str], str]:
        if ids or not req.history:
            return [], ""
        q = nfkc(req.question)
        own_topic = len(re.sub(r"[\W\d_]", "", q)) > 14 and not intent.anaphoric
        if own_topic:
            return [], ""
        last_user = next((t.content for t in reversed(req.history) if t.role == "user"), "")
        for turn in reversed(req.history[-6:]):
            # the measures a turn was about; an abstention's 「関連する施策」 suggestions are not its topic
            text = "\n".join(x for x in turn.content.splitlines() if not x.startswith(RELATED_PREFIX))
            found = measure_ids_in(text, set(self.k.listings))
            if found:
                return found[:1], nfkc(last_user)
            if turn.role == "user":
                break  # the previous question named no measure: use its words, not an older turn's measure
        return [], nfkc(last_user)

    # --- routing --------------------------------------------------------------------------------------------
    def _route(
        self, q: str, intent: Intent, ids: list[str], hits: list[Hit], k: Knowledge
    ) -> tuple[Draft, list[str]]:
        related = _related(ids, hits)
        unknown = self._unknown_ids(q, k)
        if unknown and not ids:
            close = k.close_ids(unknown[0])
            return _abstain(
                f"「{unknown[0]}」という施策番号は計画にありません。近い番号: {'、'.join(close)}。"
            ), close
        if intent.has("contact"):
            return _abstain(
                "資料には担当者の氏名・電話番号・メールアドレスなどの連絡先は記載されていません。"
                "担当所属（部局・課）であればお答えできます。"
            ), related
        if intent.has("person"):
            return self._person(q, hits, k), related
        if intent.has("opinion"):
            return _abstain(
                "資料に書かれた事実のみお答えしています。評価や意見は資料に含まれていません。"
            ), related
        beyond = self._beyond_period(intent, k)
        if beyond:
            return beyond, related
        if intent.has("as_of"):
            d = answer_as_of(k)
            if d.lines:
                return d, related
        glossary = self._glossary(q, intent, hits)
        if glossary:
            return glossary, related
        if intent.has("budget"):
            return self._budget(q, ids, k), related
        listing = self._list(q, intent, ids, hits, k)
        if listing:
            return listing, related
        if not ids:
            agg = answer_aggregate(q, intent, k, topic_left=self._topic_left(q, k))
            if agg:
                return agg, related
        if intent.has(*KPI_ASKS) and not (ids and intent.has("what") and not intent.has("kpi")):
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
        focus = ids[:1] or self._focus(q, hits, k, kinds=("measure", "kpi", "progress_kpi"))
        if intent.has("owner", "start_year") and focus:
            return answer_owner(k, focus[0], intent), related
        if ids and (intent.has("what", "glossary_maybe") or not intent.asks):
            return answer_what(k, ids[0]), related
        outline = self._outline(q, intent, k)
        if outline:
            return outline, related
        return self._passage(q, intent, hits, k), related

    def _outline(self, q: str, intent: Intent, k: Knowledge) -> Draft | None:
        """「Xって何？」 where X names a heading: answer with its sub-headings (or its sibling headings)."""
        if intent.has("count", "figure") or (
            not intent.has("what", "list") and not re.search(r"何と何|どれ|なに", q)
        ):
            return None
        content = {
            t
            for t in tokenize(q)
            if t not in self.generic
            and t in k.vocabulary
            and not t.isdigit()
            and not (len(t) == 1 and not "\u4e00" <= t <= "\u9fff")
        }
        if not content:
            return None
        cands = [sec for sec, toks in self._title_tokens if content <= toks]
        with_children = [(sec, kids) for sec in cands if (kids := self._children.get(sec.section_id))]
        if with_children:
            parent, kids = min(with_children, key=lambda x: len(x[0].title))
            return answer_outline(parent, kids, k)
        by_parent: dict[tuple[str, ...], list] = {}
        for sec in cands:
            by_parent.setdefault(tuple(sec.path[:-1]), []).append(sec)
        groups = [g for g in by_parent.values() if len(g) >= 2]
        if groups:
            group = max(groups, key=len)
            above = next((x for x in k.catalog.sections if x.path == list(group[0].path[:-1])), None)
            return answer_outline(above, group, k)
        return None

    def _person(self, q: str, hits: list[Hit], k: Knowledge) -> Draft:
        """A person or role (座長, 本部長) is answered only from a passage that names that role; staff names and
        contacts are not in the documents, and a name is never guessed."""
        roles = re.findall(r"[\u4e00-\u9fff]*?(?:[課部室座]長|本部長|委員長|会長|知事)", q)
        for i, h in enumerate(hits[:5]):
            text = squash(h.chunk.text)
            if roles and any(squash(r) in text for r in roles) and self._confident(q, h, i):
                return answer_passage(h.chunk, k, q)
        return _abstain(
            "資料には担当者の氏名・電話番号・メールアドレスなどの連絡先は記載されていません。"
            "担当所属（部局・課）であればお答えできます。"
        )

    def _topic_left(self, q: str, k: Knowledge) -> bool:
        """Does the question name a topic beyond question words, a goal, a department and set words?
        (「重点目標③のKPI」 names none; 「マイナンバーのKPI」 names one.)"""
        named = " ".join(k.goal_hits(q) + k.department_hits(q) + k.mentioned(q, k.bureaus))
        ignore = self.generic | set(tokenize(named)) | set(tokenize(_SET_WORDS))
        return any(t not in ignore and not t.isdigit() and len(t) > 1 for t in tokenize(q))

    def _unknown_ids(self, q: str, k: Knowledge) -> list[str]:
        out = []
        for m in MEASURE_ID_RE.finditer(q):
            mid = normalize_measure_id(m.group(0))
            prefix = re.match(r"\D+", mid)
            if prefix and prefix.group(0) in k.prefixes and mid not in k.listings:
                out.append(mid)
        return out

    def _beyond_period(self, intent: Intent, k: Knowledge) -> Draft | None:
        last_plan = _last_plan_year(k)
        future = [y for y in intent.years if y > last_plan]
        if future and intent.has("target", "kpi", "baseline", "actual", "met"):
            return _abstain(
                f"計画期間は{_plan_period(k)}で、{fy_phrase(future[0])}の目標値・実績は資料に記載されていません。"
            )
        reported = [d.fiscal_year for d in k.catalog.documents if d.kind == "progress" and d.fiscal_year]
        if reported and intent.has("actual", "met") and not intent.has("target"):
            later = [y for y in intent.years if y > max(reported)]
            if later:
                return _abstain(
                    f"実績報告は{fy_phrase(max(reported))}分までで、{fy_phrase(later[0])}の実績は資料にありません。"
                )
        return None

    def _confident(self, q: str, h: Hit, pos: int) -> bool:
        """Is hit `h` (at position `pos`) about what the question asks? Lexical evidence, or both rankers agree."""
        cov = self.k.coverage(q, h.chunk.text, self.generic)
        lex, dense = h.ranks.get("lexical", 99), h.ranks.get("dense", 99)
        if cov >= MIN_COVERAGE:
            return True
        if (
            _latin_share(q) > 0.5
        ):  # an English question: Japanese tokens cannot overlap, trust the dense ranker
            return pos <= 2 and dense <= 3
        return pos == 0 and cov >= LOW_COVERAGE and lex <= 2 and dense <= 2

    def _focus(
        self, q: str, hits: list[Hit], k: Knowledge, kinds: tuple[str, ...], top: int = 5
    ) -> list[str]:
        for i, h in enumerate(hits[:top]):
            if h.chunk.kind in kinds and h.chunk.measure_ids and self._confident(q, h, i):
                return h.chunk.measure_ids[:1]
        return []

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

    def _budget(self, q: str, ids: list[str], k: Knowledge) -> Draft:
        overall = re.search(
            r"全体|合計|総額|関連事業|ポリシー|事業数|決算額|total|overall|all", q, re.IGNORECASE
        )
        if k.catalog.totals and overall and not ids:
            return answer_totals(k)
        return _abstain(
            "資料には個々の施策の予算額・事業費は記載されていません。"
            "実績報告にあるのはポリシー関連事業全体の事業数と決算額です。"
        )

    def _list(self, q: str, intent: Intent, ids: list[str], hits: list[Hit], k: Knowledge) -> Draft | None:
        if ids or intent.has("target", "baseline", "actual", "met"):
            return None
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
        goals = k.goal_hits(q)
        if goals and (intent.has("list", "count") or re.search(r"施策|どれ|何", q)):
            ms = [m for m in k.catalog.measures if m.goal in goals]
            if re.search(r"調整中", q):
                ms = [m for m in ms if m.placeholder]
            if ms:
                return answer_list(k, f"「{goals[0]}」の主な個別施策", ms)
        return None

    def _kpi(self, q: str, intent: Intent, ids: list[str], hits: list[Hit], k: Knowledge) -> Draft | None:
        plan: list = []
        boxes: list = []
        if ids:
            plan, boxes = kpis_for(k, ids[0])
            if not plan and not boxes:
                return _no_kpi(k, ids[0]) if _asks_kpi(q, intent) else None
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
                    and _asks_kpi(q, intent)
                    and not k.kpis_by_measure.get(focus[0])
                    and not k.progress_by_measure.get(focus[0])
                ):
                    return _no_kpi(k, focus[0])
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
            intent.has("actual", "met")
            and not boxes
            and not any(k.progress_by_plan.get(x.kpi_id) for x in plan)
        ):
            passage = self._progress_passage(q, hits)
            if passage:
                return passage
        d = answer_kpi(k, plan, boxes, intent)
        return d if d.lines else None

    def _best_kpi_hit(self, q: str, hits: list[Hit], order: tuple[str, ...]) -> Hit | None:
        for i, h in enumerate(hits[:6]):
            if h.chunk.kind in order and self._confident(q, h, i):
                # prefer the preferred kind when an equally good one follows
                for h2 in hits[i + 1 : 6]:
                    if (
                        h2.chunk.kind == order[0] != h.chunk.kind
                        and h2.chunk.measure_ids
                        and set(h2.chunk.measure_ids) & set(h.chunk.measure_ids)
                    ):
                        return h2
                return h
        return None

    def _progress_passage(self, q: str, hits: list[Hit]) -> Draft | None:
        """An actual that no KPI box holds may be in the report's initiatives (「在宅勤務 1,520人」)."""
        for i, h in enumerate(hits[:6]):
            if h.chunk.kind in ("initiative", "totals") and self._confident(q, h, i):
                return answer_passage(h.chunk, self.k)
        own = self.searcher.search(q, 3, filters=Filters(kind="initiative"))
        if own and (
            self.k.coverage(q, own[0].chunk.text, self.generic) >= MIN_COVERAGE
            or (_latin_share(q) > 0.5 and own[0].ranks.get("dense", 99) <= 3)
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
        ranked = sorted(
            (
                (round(k.coverage(q, h.chunk.text, self.generic), 1), prefer.get(h.chunk.kind, 0), -i, h)
                for i, h in enumerate(hits[:5])
                if self._confident(q, h, i) and (h.chunk.kind in prefer or not intent.has("count_items"))
            ),
            key=lambda x: x[:3],
            reverse=True,
        )
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
        return _abstain("ご質問の内容は、計画と実績報告のどちらにも記載が見当たりません。")

    # --- verification and the response ----------------------------------------------------------------------
    def _finish(
        self, d: Draft, related: list[str], hits: list[Hit], k: Knowledge, question: str = ""
    ) -> AskResponse:
        sources = [e.quote for e in d.evidence] + [k.titles.get(e.doc_id, "") for e in d.evidence] + d.derived
        lines, problems = verify_lines(d.lines, sources, k.departments) if d.answerable else (d.lines, [])
        if d.answerable and not lines:
            d = _abstain("根拠資料で確認できる回答を作成できませんでした。")
            lines = d.lines
        if self.chat_model is not None and d.answerable and lines:
            lines = self._phrase(question, lines, d, sources, k)
        citations = [
            Citation(
                doc_id=e.doc_id,
                doc_title=k.titles.get(e.doc_id, e.doc_id),
                measure_id=e.measure_id,
                section=e.section,
                location=f"L{e.line_start}-{e.line_end}",
                quote=e.quote[:500],
            )
            for e in _dedupe(d.evidence)
        ]
        if not d.answerable and not related:
            related = _related([], hits)
        answer = "\n".join(lines)
        if not d.answerable and related:
            answer += f"\n{RELATED_PREFIX}{'、'.join(related[:5])}"
        return AskResponse(
            answer=answer,
            answerable=d.answerable and bool(lines),
            citations=citations,
            measures=[m for m in d.measures if m],
            kpis=d.kpis,
            related=related[:8],
        )

    def _phrase(
        self, question: str, lines: list[str], d: Draft, sources: list[str], k: Knowledge
    ) -> list[str]:
        """LLM phrasing, gated: any figure or department the model adds that no source backs -> keep the draft."""
        assert self.chat_model is not None
        records = [
            {
                "doc": k.titles.get(e.doc_id, e.doc_id),
                "location": f"L{e.line_start}-{e.line_end}",
                "text": e.quote,
            }
            for e in d.evidence
        ]
        try:
            text = phrase(self.chat_model, question, "\n".join(lines), records)
        except Exception as exc:  # a remote model may fail in many ways; the grounded draft still answers
            log.warning("LLM phrasing failed (%s); sending the grounded draft", type(exc).__name__)
            return lines
        out = [x for x in text.splitlines() if x.strip()]
        kept, problems = verify_lines(out, sources, k.departments)
        if not out or problems:
            log.info("LLM phrasing rejected by verification: %s", problems[:3])
            return lines
        return kept


def _abstain(text: str) -> Draft:
    return Draft(lines=[text], answerable=False)


def _no_kpi(k: Knowledge, mid: str) -> Draft:
    m = k.primary(mid)
    name = f"{mid}「{m.name}」" if m and m.name else mid
    d = _abstain(f"{name}には計画上の目標指標（KPI）が設定されていないため、目標値・実績は資料にありません。")
    d.measures = []
    if m:
        d.evidence.append(
            Evidence(
                m.doc_id,
                m.line_start,
                m.line_end,
                f"{m.measure_id} {m.name or ''}",
                m.measure_id,
                m.goal or None,
            )
        )
    return d


def _asks_kpi(q: str, intent: Intent) -> bool:
    """An explicit question for a KPI or a figure (not 「何を目指しているの？」, which asks what a measure is for)."""
    return intent.has("kpi", "actual", "met", "figure", "baseline") or bool(
        re.search(r"目標値|数値|何件|何%|いくつ", q)
    )


def _kpi_measures(d: Draft) -> list[str]:
    for kpi in d.kpis:
        if kpi.get("measure_ids"):
            return list(kpi["measure_ids"])
    return []


def _latin_share(q: str) -> float:
    letters = [ch for ch in q if ch.isalpha()]
    return sum(ch.isascii() for ch in letters) / len(letters) if letters else 0.0


def _related(ids: list[str], hits: list[Hit]) -> list[str]:
    out = list(ids)
    for h in hits:
        for mid in h.chunk.measure_ids:
            if mid not in out:
                out.append(mid)
    return out[:8]


def _dedupe(evidence: list[Evidence]) -> list[Evidence]:
    seen, out = set(), []
    for e in evidence:
        key = (e.doc_id, e.line_start, e.line_end)
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out


def _last_plan_year(k: Knowledge) -> int:
    from ingest.normalize import fiscal_year

    years = [fiscal_year(lab) for kpi in k.catalog.kpis for lab in kpi.targets]
    return max((y for y in years if y), default=9999)


def _plan_period(k: Knowledge) -> str:
    plans = [d for d in k.catalog.documents if d.kind == "plan" and d.period]
    return (plans[0].period if plans else None) or "資料に記載の期間"
