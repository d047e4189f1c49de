"""The answering service: question (+ history) -> grounded, cited, verified answer, or an honest abstention.

It only orchestrates the steps, each its own module: understand (assistant/query.py: parts, attributes, linked
subjects, follow-ups; assistant/vectors.py) -> retrieve (assistant/retrieve.py) -> route and compose each part
(assistant/route.py, lookup.py, answer.py) -> check what was asked is answered (assistant/abstain.py)
-> verify and respond (assistant/respond.py)."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

from langchain_core.language_models import BaseChatModel

from assistant import hygiene
from assistant.abstain import Checker
from assistant.compose import which_of_two
from assistant.draft import Draft, combine
from assistant.english import english_lead
from assistant.knowledge import Knowledge
from assistant.linker import Linker
from assistant.query import Part, Query, answered_about, claim_free, reported, subject_from, understand
from assistant.respond import respond
from assistant.retrieve import Hit, HybridSearcher
from assistant.route import Router
from assistant.schemas import AskRequest, AskResponse
from assistant.vectors import vector_pins
from ingest.embed import embed_documents
from ingest.index import Index, current_index_dir, open_index
from ingest.tokenize import tokenize

__all__ = ["Assistant", "AskRequest", "AskResponse", "InvalidQuestion"]

# Question words that say what is asked, not what about; they do not count as evidence.
_WORDS = (Path(__file__).with_name("vocab") / "question_words.txt").read_text(encoding="utf-8").splitlines()
_GENERIC = " ".join(x.strip() for x in _WORDS if x.strip() and not x.startswith("#"))
NAMED_WHOLE = 0.95  # a part naming this share of a record's name is answered from it without dense ranking


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
    """Everything derived from one index (immutable once built)."""

    def __init__(self, index: Index, chat_model: BaseChatModel | None) -> None:
        self.chat_model = chat_model
        self.index = index
        self.searcher = HybridSearcher(index)
        self.k = Knowledge(index.catalog, index.lexical.doc_tokens, index.sources)
        self.generic = self.k.question_words(set(tokenize(_GENERIC)))
        self.linker = Linker(
            index.catalog,
            self.generic,
            embed_query=self.searcher.embed_query,
            embed_names=lambda names: embed_documents(index.embedder, names),
        )
        self.router = Router(self.searcher, self.k, self.generic, self.linker)
        self.check = Checker(self.k, self.generic, self.router.area)

    def drafts(self, req: AskRequest) -> tuple[Query, list[tuple[Part, Draft, list[str], list[Hit]]]]:
        """Understand, retrieve and route every part (before the abstention gate)."""
        query = understand(req.question, req.history, self.k, self.linker)
        out: list[tuple[Part, Draft, list[str], list[Hit]]] = []
        for part in query.parts:
            if part.carried and not part.pins and not part.ids and out:
                before = out[-1][1]
                if before.kpis:
                    part = replace(part, pins=subject_from(before.kpis, part, self.k, self.linker))
                elif before.answerable:
                    part = answered_about(before.measures, part, self.k, self.linker)
            hits = self._hits(part, req.top_k)
            free = not (part.pins or part.ids or part.carried)  # described in words of its own, or in English
            if free and (
                pins := vector_pins(claim_free(part, self.k), part.intent, hits, query, self.linker)
            ):
                part = reported(replace(part, pins=pins), self.k, self.linker)
                hits = self._hits(part, req.top_k)
            draft, related = self.router.route(part, hits)
            out.append((part, self.router.scope(part.text, draft, self.k), related, hits))
        return query, out

    def ask(self, req: AskRequest) -> AskResponse:
        t0 = time.perf_counter()
        query, parts = self.drafts(req)
        drafts: list[Draft] = []
        related: list[str] = []
        all_hits: list[Hit] = []
        for part, draft, rel, hits in parts:
            drafts.append(self.check(part, draft))
            related += [r for r in rel if r not in related]
            all_hits += hits
        t1 = time.perf_counter()
        draft = combine(drafts)
        if query.english:  # an English lead for what comes from records; the Japanese detail follows
            draft.lines.insert(0, english_lead(draft, query.parts[0].intent))
        verdict = which_of_two(query.text, drafts)  # 「AとB、どっちが多い？」: the comparison first
        if verdict:
            draft.lines.insert(0, verdict)
        resp = respond(self.chat_model, draft, related, all_hits, self.k, query.text)
        resp.timings_ms = {
            "understand_retrieve_route": round((t1 - t0) * 1000, 2),
            "total": round((time.perf_counter() - t0) * 1000, 2),
        }
        return resp

    def _hits(self, part: Part, top_k: int | None) -> list[Hit]:
        """Retrieval for one part; the records it names (or the conversation carries) are pinned first."""
        text = claim_free(part, self.k)  # a claimed department is checked, not searched for
        query = f"{text} {part.context[:200]}" if part.context else text
        # a part that names its record by number or by its whole name needs no dense ranking to find it
        named = bool(part.ids and not part.carried) or (bool(part.pins) and part.named >= NAMED_WHOLE)
        hits = self.searcher.search(query, k=max(top_k or 8, 8), method="lexical" if named else "hybrid")
        pinned = []
        for ref in part.pins:
            chunk = self.router.chunk_for(ref)
            if chunk is None:
                continue
            old = next((h for h in hits if h.chunk.chunk_id == chunk.chunk_id), None)
            pinned.append(Hit(chunk, old.score if old else 0.0, {**(old.ranks if old else {}), "link": 1}))
        ids = {h.chunk.chunk_id for h in pinned}
        return pinned + [h for h in hits if h.chunk.chunk_id not in ids]
