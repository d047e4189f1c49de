"""Abstain by data: is a drafted answer about what was asked? A logistic model over a few features, its weights and
threshold fitted by `python -m evals.fit_abstain` on labelled questions (cross-validated) and read from
`assistant/vocab/abstain.json`; nothing here is tuned by hand.

Features of one answered part: how much of the question's content the cited evidence covers (IDF-weighted), how
much of it the corpus never uses at all (a word no document has cannot be answered from them), whether its most specific
word the documents use is missing from the evidence (「MICAの登録者数」 answered with another app's figure), how fully the part
names a record, and whether it names a measure number or carries a subject from the conversation.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from assistant.answer_types import blank_day, not_what_was_asked, unmentioned_name, unmentioned_year
from assistant.draft import Draft, abstain, fy_phrase
from assistant.english import latin_share
from assistant.knowledge import Knowledge
from assistant.query import Part
from assistant.route import KPI_ASKS
from ingest.tokenize import content_tokens

__all__ = ["FEATURES", "Checker", "Gate", "features", "judged"]

FEATURES = ("coverage", "known_coverage", "unknown", "rare_missing", "named", "has_id", "carried")
FITTED = Path(__file__).with_name("vocab") / "abstain.json"


def judged(part: Part) -> bool:
    """The gate judges a Japanese part that stands on its own: a follow-up's words (「前の年は？」) name little of what
    it is about (its subject comes from the conversation), and an English part's words cannot overlap the Japanese
    evidence its features measure."""
    return not part.context and not part.carried and latin_share(part.text) <= 0.5


def features(part: Part, draft: Draft, k: Knowledge, generic: set[str]) -> dict[str, float]:
    evidence = " ".join(e.quote for e in draft.evidence) + " " + " ".join(draft.lines)
    content = [t for t in dict.fromkeys(content_tokens(part.text)) if t not in generic and len(t) > 1]
    total = sum(k.idf(t) for t in content) or 1.0
    unknown = sum(k.idf(t) for t in content if t not in k.vocabulary) / total
    known = [t for t in content if t in k.vocabulary]
    rare = max(known, key=k.idf, default=None)  # the question's most specific word the documents use
    return {
        "coverage": k.coverage(part.text, evidence, generic),
        "known_coverage": k.coverage(part.text, evidence, generic, known_only=True),
        "unknown": unknown if content else 0.0,
        "rare_missing": 1.0 - k.coverage(rare, evidence) if rare else 0.0,
        "named": part.named,
        "has_id": 1.0 if part.ids and not part.carried else 0.0,
        "carried": 1.0 if part.carried else 0.0,
    }


@dataclass(frozen=True)
class Gate:
    """P(the draft answers the question) = sigmoid(bias + w·x); below `threshold` the part abstains."""

    weights: dict[str, float]
    bias: float
    threshold: float

    @classmethod
    def load(cls, path: Path = FITTED) -> Gate:
        if not path.exists():  # not fitted yet: let every draft through
            return cls({f: 0.0 for f in FEATURES}, 10.0, 0.0)
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(data["weights"], data["bias"], data["threshold"])

    def probability(self, x: dict[str, float]) -> float:
        z = self.bias + sum(self.weights.get(f, 0.0) * x.get(f, 0.0) for f in FEATURES)
        return 1.0 / (1.0 + math.exp(-z))

    def passes(self, x: dict[str, float]) -> bool:
        return self.probability(x) >= self.threshold


class Checker:
    """The last step before an answer is sent: the draft, or an abstention when it does not hold what was asked
    (a figure in the asked counter, the asked kind of thing, the asked year, the thing the question names) or the
    fitted gate finds it off the question."""

    def __init__(self, k: Knowledge, generic: set[str], own_area: tuple[str, ...]) -> None:
        self.k, self.generic, self.own_area = k, generic, own_area
        self.gate = Gate.load()
        self.owner_names = tuple(k.departments)
        self.names = k.vocabulary - generic  # the documents' words that are not question words

    def __call__(self, part: Part, draft: Draft) -> Draft:
        if not draft.answerable:
            return draft
        # the documents' titles date nothing asked, and the department in charge names no company asked for
        owners = self.owner_names if part.intent.has("owner") else ()
        ignore = tuple(self.k.titles.values()) + self.own_area + (() if owners else self.owner_names)
        why = not_what_was_asked(part.text, draft.lines, ignore, not part.intent.has("which_measure"), owners)
        if why:
            return abstain(why)
        blank = blank_day(part.text, draft.lines)
        if blank:
            return abstain(f"資料では、その日付は「{blank}」と日が空欄で、何日かは記載されていません。")
        later = unmentioned_year(part.intent.years, draft.lines, self.k.last_plan_year)
        if later:
            return abstain(
                f"資料（計画期間は{self.k.last_plan_year}年度まで）には、{fy_phrase(later)}のことは記載されていません。"
            )
        # a figure is of one thing: one of another thing the question names (「MICAアプリの登録者数」) is a wrong one
        said = draft.lines + [e.quote for e in draft.evidence]
        name = (
            unmentioned_name(part.text, said, self.names.__contains__) if part.intent.has(*KPI_ASKS) else None
        )
        if name:
            return abstain(f"資料には、ご質問の「{name}」についての記載が見当たりません。")
        if judged(part) and not self.gate.passes(features(part, draft, self.k, self.generic)):
            return abstain(
                f"ご質問の「{part.text}」に当たる記載は、計画と実績報告のどちらにも見当たりません。"
            )
        return draft
