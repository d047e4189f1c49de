"""What a question asks for: the attribute (owner, start year, KPI target, actual, ...) and the fiscal year.

Only question vocabulary lives here (担当, 目標値, いつから, ...), never a fact of the corpus.
Japanese and English questions are both understood.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.normalize import fiscal_year, nfkc

__all__ = ["Intent", "detect", "ANAPHORA_RE"]

_PATTERNS: dict[str, str] = {
    "owner": r"担当|所管|どこの(?:課|部|部署|所属)|部署|所属|課は|どの課|どこが|窓口|\bowns?\b|owner|department|responsible|in charge|who (?:runs|handles|manages)|which (?:section|division|office|bureau)",
    "start_year": r"いつから|開始|始ま|始め|スタート|何年から|\bstart(?:ed|s)?\b|\bbegan\b|\bbegin|since when|start year|what year",
    "target": r"(?<!重点)(?<!基本)目標(?!達成の基盤)|ターゲット|目指|めざ|target|goal for|aim",
    "baseline": r"現状値|基準値|基準|現状|ベースライン|baseline|current value|starting value",
    "actual": r"実績|実際|実施した|行った|何回|達成|最新|結果|どうなっ|どれくらい進|進捗|actual(?!ly)|achiev|result|progress|latest|reached",
    "met": r"達成(?:した|でき|され|して)|届い|クリア|上回|下回|met\b|achieved|on track|reach(?:ed)? the target",
    "what": r"とは|何を|なにを|何\?|なに\?|って\?|どんな|どういう|内容|概要|目的|説明|教えて|について|what (?:is|does|are)|describe|explain|about",
    "list": r"一覧|リスト|全部|すべて|全て|どんな施策|どの施策|施策は(?:何|なに|どれ)|どれ|何がある|なにがある|which measures|what measures|list",
    "count": r"いくつ|何件|何個|何本|件数|数は|総数|how many|number of",
    "glossary": r"とは|意味|用語|定義|(?:って|とは)(?:何|なに|なん)?(?:ですか|でしょうか|のこと)?\??$|what does .* mean|meaning|stand for|definition|what is an? \w+\??$",
    "budget": r"予算|決算|金額|費用|事業費|億円|円|budget|cost|spend",
    "contact": r"電話番号|(?<!携帯)電話(?!等)|連絡先|メールアドレス|e-?mail|phone|住所|address|問い?合わ?せ|contact",
    "person": r"担当者|名前|氏名|[課部室座]長|本部長|委員長|会長|知事|who is the (?:head|director|manager|chair)",
    "kpi": r"KPI|指標|目標値|数値目標|indicator",
    "as_of": r"いつ時点|何時点|時点は\??$|いつ現在|基準日|as of when|how recent|how up to date",
    "figure": r"率|割合|件数|人数|何人|何件|何%|何団体|数は|どのくらい|どれくらい|how (?:many|much)|\brate\b|\bshare\b|number of",
    "opinion": r"(?:と|って)思う|意見|感想|評価して|べき(?:か|だ)|おすすめ|do you think|your opinion",
}
_COMPILED = {k: re.compile(v, re.IGNORECASE) for k, v in _PATTERNS.items()}

ANAPHORA_RE = re.compile(
    r"^(?:その|それ|この|これ|あの|同じ|上記|そちら|こちら|それで|では|じゃあ|で、)|^(?:担当|目標|実績|現状|開始|概要|KPI)"
    r"|\b(?:it|its|that|this|they|them|those)\b",
    re.IGNORECASE,
)
_YEAR_RE = re.compile(
    r"(?:令和|平成|R|H)\s*(?:元|\d{1,2})(?:\s*年度?)?|FY\s*\d{4}|(?:19|20)\d{2}\s*年度?|\bin (?:19|20)\d{2}\b",
    re.IGNORECASE,
)
_FINAL_RE = re.compile(r"最終|計画最終|最後|final", re.IGNORECASE)


@dataclass
class Intent:
    """The attributes a question asks for, in priority order, and the fiscal years it names."""

    asks: set[str] = field(default_factory=set)
    years: list[int] = field(default_factory=list)
    final_year: bool = False
    anaphoric: bool = False

    def has(self, *names: str) -> bool:
        return any(n in self.asks for n in names)


def detect(question: str) -> Intent:
    q = nfkc(question)
    asks = {k for k, rx in _COMPILED.items() if rx.search(q)}
    years: list[int] = []
    for m in _YEAR_RE.finditer(q):
        y = fiscal_year(m.group(0).replace("in ", ""))
        if y and 1989 <= y <= 2100 and y not in years:
            years.append(y)
    if "met" in asks:
        asks.add("actual")
    if "count" in asks and re.search(r"KPI|指標|施策|measures|indicators", q, re.IGNORECASE) and not years:
        asks -= {"figure", "kpi"}  # 「KPIはいくつ？」 counts the plan's items; it does not ask a KPI's figure
        asks.add("count_items")
    if (
        years
        and not asks & {"target", "baseline", "kpi", "actual"}
        and ("figure" in asks or re.search(r"どのくらい|どれくらい|いくつ|何", q))
    ):
        asks.add("actual")  # 「R5でどのくらい？」 asks for that year's figure
    if "glossary" in asks and not re.search(r"意味|用語|定義|mean|stand for|definition", q, re.IGNORECASE):
        asks.discard("glossary")
        asks.add("glossary_maybe")
    return Intent(
        asks=asks,
        years=years,
        final_year=bool(_FINAL_RE.search(q)),
        anaphoric=bool(ANAPHORA_RE.search(q.strip())) or len(q.strip()) <= 8,
    )
