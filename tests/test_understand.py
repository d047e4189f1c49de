"""Understanding and composing, on a tiny hand-made catalog (fast; no index, no embedder).

The catalog is invented: its names and figures are not the corpus's, so these tests pin the mechanisms (parts,
entity linking, follow-ups, yes/no, reverse look-ups, the KPI status rule), not facts.
"""

from dataclasses import replace

import pytest

from assistant.aggregate import answer_aggregate, answer_pending
from assistant.answer import answer_owner
from assistant.answer_kpi import answer_kpi
from assistant.answer_types import not_what_was_asked
from assistant.compose import which_of_two, with_owner
from assistant.draft import Draft, Evidence, combine
from assistant.english import english_lead
from assistant.facts import answer_claim, answer_which_measure, change_line
from assistant.intent import detect
from assistant.knowledge import Knowledge
from assistant.linker import Entity, Link, Linker
from assistant.query import Part, split_parts, understand
from assistant.retrieve import Hit
from assistant.schemas import Turn
from assistant.service import _GENERIC
from assistant.status import Status, box_status, plan_status
from assistant.subjects import longest, subject_of
from assistant.vectors import agreed_pins, dense_pins
from assistant.verify import counts_in, listed_count, missing_asked
from ingest.chunk import build_chunks
from ingest.records import (
    Catalog,
    Document,
    GlossaryTerm,
    Initiative,
    Measure,
    Owner,
    PlanKpi,
    ProgressKpi,
    Quantity,
)
from ingest.tokenize import tokenize


def q(raw: str, value: float | None = None) -> Quantity:
    return Quantity(raw=raw, value=value)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    owner = Owner(bureau="架空部", section="試験課", start_year_raw="H29", start_year=2017)
    other = Owner(bureau="模擬局", section="見本課", start_year_raw="R1", start_year=2019)
    return Catalog(
        documents=[
            Document(doc_id="plan", title="架空計画", kind="plan", file="p.txt"),
            Document(doc_id="rep", title="架空実績", kind="progress", file="r.txt", fiscal_year=2023),
        ],
        measures=[
            Measure(
                doc_id="plan",
                measure_id="甲1",
                name="公衆無線網の整備",
                owners=[owner],
                overview="無線網を整備する。",
            ),
            Measure(
                doc_id="plan",
                measure_id="甲2",
                name="遠隔会議システムの活用",
                owners=[other],
                overview="会議を遠隔で行う。",
            ),
        ],
        kpis=[
            PlanKpi(
                doc_id="plan",
                kpi_id="plan:kpi:01",
                measure_ids=["甲1", "甲2"],
                item="無線網の設置箇所数",
                unit="箇所",
                baseline=q("10", 10),
                baseline_date_raw="R2.12",
                targets={"R5": q("30", 30), "R6": q("40", 40)},
            ),
            PlanKpi(
                doc_id="plan",
                kpi_id="plan:kpi:03",
                item="模擬相談会開催回数",
                unit="回",
                baseline=q("2", 2),
                targets={"R6": q("6", 6)},
            ),
            PlanKpi(
                doc_id="plan",
                kpi_id="plan:kpi:02",
                item="事故件数",
                baseline=q("4", 4),
                targets={"R6": q("0", 0)},
            ),
        ],
        progress_kpis=[
            ProgressKpi(
                doc_id="rep",
                kpi_id="rep:kpi:01",
                goal="目標一",
                name="電子届出導入団体数",
                baseline=q("5団体", 5),
                baseline_year_raw="R2",
                latest=q("10団体", 10),
                latest_year_raw="R5",
                target=q("8団体", 8),
                target_year_raw="R6",
                achievement_rate_raw="100%",
            )
        ],
        initiatives=[
            Initiative(doc_id="rep", goal="目標一", text="試験推進研修（30人）", line_start=7, line_end=7),
            Initiative(
                doc_id="rep", goal="目標一", text="見本推進リーダー研修（4人）", line_start=7, line_end=7
            ),
            Initiative(
                doc_id="rep", goal="目標一", text="模擬相談会の開催（12回）", line_start=9, line_end=9
            ),
        ],
        glossary=[GlossaryTerm(doc_id="plan", term="AI", definition="人工知能のこと。")],
    )


@pytest.fixture(scope="module")
def k(catalog: Catalog) -> Knowledge:
    return Knowledge(catalog, [tokenize(c.text) for c in build_chunks(catalog)])


@pytest.fixture(scope="module")
def linker(catalog: Catalog) -> Linker:
    return Linker(catalog, set(tokenize(_GENERIC)))


def test_a_closing_reason_is_no_second_question():
    # 「…載ってる？アクセスしたいんだけど」: the remark says why it is asked; a second question stays one
    assert split_parts("甲1のURLって載ってる？アクセスしたいんだけど") == [
        "甲1のURLって載ってる？アクセスしたいんだけど"
    ]
    assert len(split_parts("甲1の担当は？それと、研修の受講者数も知りたいです。")) == 2
    # 「…何のツール使ってるの？ZoomとかTeams？」: guesses offered for what was asked, not a second question
    for q in (
        "甲1って何のツール使ってるの？ZoomとかTeams？",
        "甲1はどのソフトですか？ZoomやTeamsでしょうか？",
    ):
        assert split_parts(q) == [q]
    assert len(split_parts("甲1の担当は？甲2や甲3は？")) == 2


def test_a_second_question_is_a_second_part():
    assert split_parts("甲1の担当は?それとR5の実績も教えて") == ["甲1の担当は?", "R5の実績も教えて"]
    assert split_parts("甲1の担当は?R5は?") == ["甲1の担当は?", "R5は?"]
    assert split_parts("甲1の担当は?") == ["甲1の担当は?"]
    assert split_parts("How many staff did X in FY2023, and how many did Y?") == [
        "How many staff did X in FY2023",
        "how many did Y?",
    ]
    assert (
        len(split_parts("Which measures cover X and Y, and by whom?")) == 1
    )  # 'and' joins words, not questions


def test_the_other_side_of_an_alternative_is_not_a_second_question():
    assert split_parts("交付率は他の都道府県と比べて高いほう？低いほう？") == [
        "交付率は他の都道府県と比べて高いほう？低いほう？"
    ]
    assert len(split_parts("推進本部は何？トップは誰？")) == 2  # 「誰」 asks a kind of thing
    assert len(split_parts("企15の担当は？R4は？")) == 2  # a year is asked
    assert len(split_parts("位置づけは？根拠法も。")) == 2  # a thing is named


def test_a_part_without_a_subject_asks_about_the_first_parts(k, linker):
    query = understand("甲2の担当はどこ？あとR6の目標値は？", [], k, linker)
    assert [p.ids for p in query.parts] == [("甲2",), ("甲2",)]
    assert query.parts[1].carried and query.parts[1].intent.has("target")


def test_records_are_linked_by_part_of_their_name(k, linker):
    part = understand("遠隔会議システム活用はいつから？", [], k, linker).parts[0]
    assert part.pins == ("甲2@0",)


def test_two_named_records_become_two_parts(k, linker):
    query = understand("試験推進研修と見本推進リーダー研修、受講者は何人ずつ？", [], k, linker)
    assert [p.pins for p in query.parts] == [("initiative@7",), ("initiative@7.1",)]
    # without a comma, 「AとBの…をそれぞれ」 asks the same of each as well
    query = understand("試験推進研修と見本推進リーダー研修の受講者数をそれぞれ教えて", [], k, linker)
    assert [p.pins for p in query.parts] == [("initiative@7",), ("initiative@7.1",)]


def _two_bullets() -> tuple[Knowledge, Linker]:
    """A plan KPI and two report bullets, each printing an actual of its own topic."""
    cat = Catalog(
        documents=[
            Document(doc_id="plan", title="架空計画", kind="plan", file="p.txt"),
            Document(doc_id="rep", title="架空実績", kind="progress", file="r.txt", fiscal_year=2023),
        ],
        kpis=[PlanKpi(doc_id="plan", kpi_id="plan:kpi:01", item="在宅勤務実施割合", unit="％")],
        initiatives=[
            Initiative(
                doc_id="rep", goal="目標一", text="在宅勤務の推進（在宅勤務実績 1,520人日）", line_start=3
            ),
            Initiative(
                doc_id="rep", goal="目標一", text="遠隔会議の運用（会議利用実績：10回）", line_start=5
            ),
        ],
    )
    return Knowledge(cat, [tokenize(c.text) for c in build_chunks(cat)]), Linker(cat, set(tokenize(_GENERIC)))


def test_two_names_each_followed_by_its_own_words_and_asked_of_each_are_two_parts():
    # 「Aの実績と、Bの利用実績ってそれぞれ」: the tail after the second name asks of both; the year dates the
    # question, not a side; an actual alone is the report's record (the bullet), not the plan's KPI row
    k2, linker2 = _two_bullets()
    query = understand("R5の在宅勤務の実績と、遠隔会議の利用実績ってそれぞれどれくらい？", [], k2, linker2)
    assert [p.pins for p in query.parts] == [("initiative@3",), ("initiative@5",)]


def test_what_is_compared_may_come_before_the_two_records_it_is_compared_for():
    # 「R5の実績、AとBではどっちが多い？」: the lead is asked of each side
    k2, linker2 = _two_bullets()
    query = understand("R5の実績、在宅勤務と遠隔会議ではどっちが多い？", [], k2, linker2)
    assert [p.pins for p in query.parts] == [("initiative@3",), ("initiative@5",)]


def test_each_side_of_to_asking_of_a_topic_of_its_own_is_a_part_of_its_own():
    # 「Aの実績と、Bの利用実績はどれくらい？」 without 「それぞれ」: both sides ask, each of its own words
    k2, linker2 = _two_bullets()
    query = understand("R5の在宅勤務の実績と、遠隔会議の利用実績はどれくらい？", [], k2, linker2)
    assert [p.text for p in query.parts] == ["R5の在宅勤務の実績", "遠隔会議の利用実績はどれくらい?"]
    # a side with no topic of its own (「その目標」) asks of the other side's: one question
    assert len(understand("在宅勤務の実績と、その目標はどれくらい？", [], k2, linker2).parts) == 1


def test_the_same_asked_of_two_records_by_number_or_in_loose_words_is_two_parts(k, linker):
    query = understand("甲1と甲2、担当課はそれぞれどこ？", [], k, linker)
    assert [p.ids for p in query.parts] == [("甲1",), ("甲2",)]
    query = understand("公衆の無線と遠隔の会議、それぞれ何をするの？", [], k, linker)
    assert [p.pins for p in query.parts] == [("甲1@0",), ("甲2@0",)]
    # without 「それぞれ」 loose words are not enough to take one question apart
    assert len(understand("公衆の無線と遠隔の会議、何をするの？", [], k, linker).parts) == 1


def test_a_claimed_department_is_read_for_a_yes_no_check(k, linker):
    part = understand("甲1は見本課の担当で合ってる？", [], k, linker).parts[0]
    assert part.claims == ("見本課",) and part.ids == ("甲1",)


def test_a_follow_up_takes_the_record_the_previous_answer_quoted(k, linker):
    history = [
        Turn(role="user", content="電子届出の団体数、R5は？"),
        Turn(role="assistant", content="架空実績によると、「電子届出導入団体数」のR5実績は10団体です。"),
    ]
    part = understand("それって目標は達成してる？", history, k, linker).parts[0]
    assert part.pins == ("rep:kpi:01",) and part.carried


def test_a_refusal_carries_no_subject(k, linker):
    history = [
        Turn(role="user", content="甲9の担当は？"),
        Turn(role="assistant", content="「甲9」という施策番号は計画にありません。"),
    ]
    part = understand("担当はどこ？", history, k, linker).parts[0]
    assert part.ids == () and part.pins == ()


def test_an_elliptic_follow_up_repeats_the_previous_question_a_year_earlier(k, linker):
    history = [
        Turn(role="user", content="電子届出導入団体数のR5実績は？"),
        Turn(role="assistant", content="「電子届出導入団体数」のR5実績は10団体です。"),
    ]
    part = understand("前の年は？", history, k, linker).parts[0]
    assert part.intent.years == (2022,) and part.intent.has("actual")


def test_a_follow_up_asking_for_the_content_does_not_repeat_the_previous_question(k, linker):
    history = [
        Turn(role="user", content="甲1の担当は？"),
        Turn(role="assistant", content="甲1「公衆無線網の整備」の担当所属は架空部 試験課です。"),
    ]
    part = understand("概要を教えて", history, k, linker).parts[0]
    assert part.ids == ("甲1",) and not part.intent.has("owner")
    assert understand("R2は？", history, k, linker).parts[0].intent.has("owner")  # an elliptic one does


def test_a_short_latin_name_links_only_as_a_whole_word(linker):
    assert not [x for x in linker.link("training for staff") if x.entity.name == "AI"]
    assert [x for x in linker.link("What does AI mean?") if x.entity.name == "AI"]


def test_a_start_dated_by_an_era_alone_is_checked_against_the_printed_start_year(k):
    # 「平成の頃から続いてる？」「令和になってから始まった？」: the era of 甲1's start year (H29) decides
    heisei = detect("無線網の整備って平成の頃から続いてる事業なんだっけ？")
    assert heisei.era == "平成" and heisei.has("claim") and heisei.has("start_year")
    assert answer_owner(k, "甲1", heisei).lines[0].startswith("はい、")
    reiwa = detect("無線網の整備は令和になってから始まったの？")
    assert (
        answer_owner(k, "甲1", reiwa).lines[0].startswith("いいえ、")
        and "H29" in answer_owner(k, "甲1", reiwa).lines[0]
    )
    assert detect("平成29年度から続いてる？").era == ""  # a year is a year claim, not an era's


def test_the_owner_asked_beside_what_the_report_says_leads_an_answer_from_a_report_bullet(k):
    # 「甲1、計画ではどこの課の担当で、R5報告だとどこまで進んでる？」: the bullet names no department; the measure's does
    bullet = Draft(lines=["「試験推進研修（30人）」（架空実績より）"])
    part = Part(
        "甲1、計画ではどこの課の担当で、R5報告だとどこまで進んでる？",
        detect("どこの課の担当で、どこまで進んでる？"),
        ("甲1",),
    )
    d = with_owner(part, bullet, k)
    assert "試験課" in d.lines[0] and d.lines[-1] == bullet.lines[0]
    not_asked = Part("甲1はR5にどこまで進んでる？", detect("R5にどこまで進んでる？"), ("甲1",))
    assert with_owner(not_asked, bullet, k) is bullet


def test_yes_no_answers_lead_with_yes_or_no(k):
    yes = answer_claim(k, "甲1", ("試験課",), None)
    no = answer_claim(k, "甲1", ("見本課",), None)
    assert yes.lines[0].startswith("はい、") and "試験課" in yes.lines[0]
    assert no.lines[0].startswith("いいえ、") and "試験課" in no.lines[0] and "見本課" in no.derived


def test_a_claim_that_one_department_alone_owns_a_jointly_owned_measure_is_denied():
    a = Owner(bureau="架空部", section="試験課")
    b = Owner(bureau="模擬局", section="見本課")
    cat = Catalog(
        documents=[Document(doc_id="plan", title="架空計画", kind="plan", file="p.txt")],
        measures=[Measure(doc_id="plan", measure_id="甲1", name="協議会の運営", owners=[a, b], line_start=3)],
    )
    k2 = Knowledge(cat, [tokenize(c.text) for c in build_chunks(cat)])
    for q in ("甲1は試験課だけの担当で合ってますか？", "甲1は試験課のみで担当してるんだよね？"):
        only = answer_claim(k2, "甲1", ("試験課",), None, q)
        assert only.lines[0].startswith("いいえ、") and "見本課" in only.lines[0]
    assert answer_claim(k2, "甲1", ("試験課",), None, "甲1は試験課の担当？").lines[0].startswith("はい、")


def test_a_kpi_names_every_measure_it_belongs_to(k, catalog):
    chunk = next(c for c in build_chunks(catalog) if c.record_ref == "plan:kpi:01")
    d = answer_which_measure(k, Hit(chunk, 1.0, {}))
    assert d is not None and "甲1" in d.lines[0] and "甲2" in d.lines[0]


def test_a_change_is_computed_from_the_records_and_declared(catalog):
    line, diff = change_line(catalog.progress_kpis[0])
    assert diff == "5" and "R2" in line and "R5" in line


def test_an_answer_without_a_figure_in_the_asked_counter_is_not_an_answer():
    assert missing_asked("基地局は何基ある？", ["利用者数は160者です。"]) == "何基"
    assert missing_asked("受講者は何人？", ["研修（30人）"]) is None


def test_a_goals_part_is_named_by_its_label_after_its_parents_words():
    goals = ["架空の基盤整備 イ 装置の最適化", "架空の基盤整備 ロ 人材の育成"]
    cat = Catalog(
        documents=[Document(doc_id="plan", title="架空計画", kind="plan", file="p.txt")],
        measures=[
            Measure(doc_id="plan", measure_id=f"甲{i}", name=f"施策{i}", goal=g) for i, g in enumerate(goals)
        ],
    )
    k = Knowledge(cat, [tokenize(c.text) for c in build_chunks(cat)])
    assert k.goal_hits("基盤整備のロに入ってる施策は？") == [goals[1]]
    assert k.goal_hits("基盤整備のイの施策を全部") == [goals[0]]
    assert k.goal_hits("基盤整備のロボットは？") == []  # a word that begins with the label names no part


def test_a_number_the_plan_lists_only_as_pending_is_listed_with_the_pending_rows():
    # a placeholder row (甲2 with no name) and a number printed only in a listing 「・甲 9 （調整中）」
    lines = ["施策一覧", "・甲 9 （調整中）", "・甲 1 装置の整備（3頁）", "甲2 （調整中）"]
    cat = Catalog(
        documents=[Document(doc_id="plan", title="架空計画", kind="plan", file="p.txt")],
        measures=[
            Measure(doc_id="plan", measure_id="甲1", name="装置の整備"),
            Measure(doc_id="plan", measure_id="甲2", name=None, placeholder=True),
        ],
    )
    k = Knowledge(cat, [tokenize(c.text) for c in build_chunks(cat)], {"plan": lines})
    d = answer_pending("（調整中）の施策は？", k)
    assert d is not None and "次の2件" in d.lines[0]
    assert any(x.startswith("・甲9 （調整中）") for x in d.lines) and not any("甲1" in x for x in d.lines)
    assert {(e.measure_id, e.line_start) for e in d.evidence} >= {("甲9", 2)}  # cited where it is printed
    assert english_lead(d, detect("Which measures are pending?")).startswith("2 measures")


def test_how_many_kinds_of_a_bullet_that_lists_its_items_is_counted_from_the_list():
    bullet = "見本アプリ実証 ・通報 ・スタンプラリー ・地域ポイント【新規】"
    assert listed_count("見本アプリ実証って何種類やったの？", bullet) == (
        "挙げられているのは3種類です（通報、スタンプラリー、地域ポイント）。",
        "3種類",
    )
    assert listed_count("何種類に増えた？", "決済アプリ拡大 7種→25種") is None  # the record prints the figure
    assert (
        listed_count("何種類？", "在宅勤務・モバイルワーク等の推進") is None
    )  # a name's own 「・」 lists nothing


def test_the_measures_printed_again_are_listed_from_the_catalogs_relisted_mark():
    cat = Catalog(
        documents=[Document(doc_id="plan", title="架空計画", kind="plan", file="p.txt")],
        measures=[
            Measure(doc_id="plan", measure_id="甲1", name="装置の整備", line_start=3),
            Measure(doc_id="plan", measure_id="甲2", name="研修の実施", line_start=5),
            Measure(doc_id="plan", measure_id="甲1", name="装置の整備", relisted=True, line_start=9),
        ],
    )
    k = Knowledge(cat, [tokenize(c.text) for c in build_chunks(cat)])
    for q in ("再掲されてる施策ってどれ？全部挙げて", "Which measures are listed more than once?"):
        d = answer_aggregate(q, detect(q), k, frozenset({"再掲"}))
        assert d is not None and "次の1件" in d.lines[0] and d.lines[1].startswith("・甲1"), q


def test_a_year_asks_the_actual_of_its_own_clause_in_a_two_part_question():
    # 「Xの現状値と、R5の実施回数」: the baseline is asked of the plan, the count of R5 is its actual
    both = detect("研修の計画上の現状値と、R5の実施回数を教えて")
    assert both.has("baseline") and both.has("actual")
    assert detect("設置数の現状値と、R5の件数は？").has("actual")
    assert not detect("設置数の現状値と、R6の目標は？").has("actual")  # the year's clause asks a target
    assert not detect("現状値はR2の何件？").has("actual")  # one clause: the year dates the baseline


def test_a_yes_no_check_carries_the_figures_it_asserts_not_its_years_or_record_numbers():
    assert detect("R6目標は35で合ってる？").claimed == (35.0,)
    assert detect("企15の目標は1,731で合ってる？").claimed == (1731.0,)
    assert detect("交付率は78.34%だよね？").claimed == (78.34,)
    assert detect("テレワークは2019年度からだよね？").claimed == ()
    assert detect("R6目標は35？").claimed == ()  # not a yes/no check


def test_a_claimed_figure_is_confirmed_or_denied_first_from_the_record(catalog, k):
    plan = [catalog.kpis[0]]  # 無線網の設置箇所数: R6 target 40
    yes = answer_kpi(k, plan, [], detect("設置箇所数のR6目標は40で合ってる？"))
    no = answer_kpi(k, plan, [], detect("設置箇所数のR6目標は50だよね？"))
    assert yes.lines[0] == "はい、R6（2024年度）の目標値は40箇所です。"
    assert no.lines[0].startswith("いいえ、R6（2024年度）の目標値は40箇所で、50ではありません")
    assert "50" in no.derived  # the denied figure is the question's, not a record's


def test_the_year_of_a_plan_kpis_baseline_is_answered_with_the_baseline(catalog, k):
    kpi = catalog.kpis[0].model_copy(
        update={"baseline_fiscal_year": 2020}
    )  # 10箇所 as of R2.12, targets R5, R6
    d = answer_kpi(k, [kpi], [], detect("設置箇所数はR2でいくつだった？"))
    assert d.answerable and d.lines == [
        "目標指標「無線網の設置箇所数」のR2（2020年度）の値は、計画の現状値10箇所（R2.12時点）です（目標値はR5、R6の年度分）。"
    ]
    assert not answer_kpi(
        k, [kpi], [], detect("設置箇所数のR1の目標は？")
    ).answerable  # no figure of that year


def test_a_later_part_repeating_a_kpi_sentence_the_answer_already_holds_is_not_repeated():
    first = Draft(lines=["目標指標「甲」の現状値は1件、目標値はR5（2023年度）3件、R6（2024年度）4件です。"])
    later = Draft(
        lines=["目標指標「甲」の現状値は1件、目標値はR5（2023年度）3件です。", "実績は記載されていません。"]
    )
    assert combine([first, later]).lines == [first.lines[0], "実績は記載されていません。"]
    other = Draft(
        lines=["目標指標「甲」の現状値は1件、目標値はR5（2023年度）5件です。"]
    )  # a figure it did not say
    assert len(combine([first, other]).lines) == 2


def test_an_english_yes_no_check_is_led_by_yes_or_no():
    intent = detect("Did the free Wi-Fi measure start in FY2017?")
    assert intent.has("claim", "start_year")
    assert english_lead(Draft(lines=["はい、甲1の事業開始はH29（2017年度）です。"]), intent).startswith(
        "Yes. "
    )
    assert english_lead(Draft(lines=["いいえ、甲1の事業開始はH20（2008年度）です。"]), intent).startswith(
        "No. "
    )


def test_an_answer_naming_no_department_does_not_answer_who_is_in_charge():
    bullet = ["「…の取組: 「みやぎハイパーウェブ」の運用」（R5年度実績より）"]
    assert not_what_was_asked("それの担当は？", bullet, owners=("情報政策課",)) is not None
    assert not_what_was_asked("それの担当は？", ["担当は情報政策課です。"], owners=("情報政策課",)) is None


def test_a_kpi_counted_in_another_counter_does_not_answer_the_asked_count():
    assert not counts_in("会議で削減できたページ数は？", "％")  # a rate is no count of pages
    assert counts_in("何人受けた？", "人/年度") and counts_in(
        "実施件数は？", "回／年度"
    )  # 件 and 回 count events
    assert counts_in("達成率は何％？", "人")  # every KPI has its 達成率 in ％
    assert counts_in("目標は？", "％") and counts_in("何人？", None)  # no counter asked, or no unit known
    assert not counts_in("How many times was the support run?", "％")  # English counts in words
    assert counts_in("How many people attended?", "人/年度")


def test_the_kpi_status_rule(catalog):
    box = catalog.progress_kpis[0]
    assert box_status(box).status is Status.MET and box_status(box).basis == "printed_rate"
    below = box.model_copy(update={"achievement_rate_raw": "95%"})
    assert box_status(below).status is Status.NOT_MET
    fewer = box.model_copy(
        update={"achievement_rate_raw": None, "baseline": q("9", 9), "latest": q("3", 3), "target": q("4", 4)}
    )
    assert box_status(fewer).status is Status.MET and box_status(fewer).lower_is_better
    plan = catalog.kpis[0]
    assert plan_status(plan, []).status is Status.NO_ACTUAL
    assert plan_status(plan.model_copy(update={"targets": {}}), []).status is Status.NO_TARGET
    linked = box.model_copy(update={"plan_kpi_id": plan.kpi_id})
    assert plan_status(plan, [linked]).status is Status.MET


def test_years_said_relative_to_today_are_resolved_by_the_fiscal_year() -> None:
    import datetime

    from assistant.intent import current_fiscal_year, detect

    assert current_fiscal_year(datetime.date(2026, 3, 31)) == 2025
    assert current_fiscal_year(datetime.date(2026, 4, 1)) == 2026
    assert detect("来年度の目標は？").years == (current_fiscal_year() + 1,)


def _with(catalog: Catalog, **extra: list) -> tuple[Knowledge, Linker]:
    """The tiny catalog with more records of the given kinds."""
    cat = catalog.model_copy(update={key: [*getattr(catalog, key), *xs] for key, xs in extra.items()})
    return Knowledge(cat, [tokenize(c.text) for c in build_chunks(cat)]), Linker(cat, set(tokenize(_GENERIC)))


def test_the_longest_named_record_is_the_subject():
    # 「試験推進研修」 (a bullet) is named whole, but the question names more of the KPI that holds that name
    bullet = Link(Entity("initiative", "initiative@7", "試験推進研修", "試験推進研修（30人）"), 1.0, 0.45)
    kpi = Link(Entity("kpi", "plan:kpi:03", "試験推進研修における理解度の平均", ""), 0.8, 0.68)
    other = Link(Entity("kpi", "plan:kpi:04", "見本研修の理解度", ""), 0.8, 0.9)
    assert longest([bullet, kpi, other]) is kpi
    assert longest([bullet, other]) is bullet  # a name that does not hold the bullet's is another thing
    assert longest([bullet, replace(kpi, cover=0.3)]) is bullet  # nor one that covers less of the question


def test_a_record_covering_far_more_of_the_question_beats_a_short_name_named_in_passing():
    # 「模擬相談会の推進」 is named whole, but the question's other words are all the KPI's
    bullet = Link(Entity("initiative", "initiative@9", "模擬相談会の推進", ""), 0.82, 0.5)
    kpi = Link(Entity("kpi", "plan:kpi:03", "模擬相談会開催回数（延べ）", ""), 0.5, 0.8)
    assert subject_of([bullet, kpi]) is kpi
    assert subject_of([bullet, replace(kpi, cover=0.7)]) is bullet  # covering a little more is no lead
    assert subject_of([kpi]) is None  # nothing is named


def test_a_kpi_row_printed_under_two_measures_shares_its_report_box(catalog):
    row = {"item": "電子届出導入団体数", "baseline": q("5", 5), "targets": {"R6": q("8", 8)}}
    first = PlanKpi(doc_id="plan", kpi_id="plan:kpi:03", measure_ids=["甲1"], **row)
    again = PlanKpi(doc_id="plan", kpi_id="plan:kpi:04", measure_ids=["甲2"], **row)
    box = catalog.progress_kpis[0].model_copy(update={"plan_kpi_id": "plan:kpi:03"})
    k2, _ = _with(catalog.model_copy(update={"progress_kpis": []}), kpis=[first, again], progress_kpis=[box])
    assert k2.progress_by_plan["plan:kpi:04"] == [box] == k2.progress_by_plan["plan:kpi:03"]


def test_a_later_part_with_a_topic_of_its_own_is_not_the_first_parts_question_again(k, linker):
    parts = understand("無線網の設置箇所数の現状値は？R2は？", [], k, linker).parts
    assert parts[1].intent.has("baseline") and parts[1].carried  # 「R2は？」 repeats the question
    parts = understand("甲1の担当は？あわせて、遠隔で行う会議の方も知りたい", [], k, linker).parts
    assert not parts[1].intent.has("owner")  # its own words: not 「担当は？」 again


def test_years_are_not_topic_words():
    from ingest.tokenize import content_tokens

    assert (
        content_tokens("令和5年度の目標件数")
        == content_tokens("目標件数")
        == content_tokens("2023年度の目標件数")
    )


def test_a_connective_opens_a_follow_up_but_refers_to_nothing():
    from assistant.intent import detect

    assert not detect("じゃあセミナーに来た人は何人？").anaphoric
    assert detect("じゃあその目標は？").anaphoric and detect("では、それの担当は？").anaphoric
    assert detect(
        "実際にその目標には届いていますか？"
    ).anaphoric  # a demonstrative inside the question refers too
    assert not detect("計画にあるその他の研修の受講者数を全部教えてください").anaphoric


def test_which_of_two_is_larger_is_said_first_from_the_one_figure_each_side_gives():
    def bullet(text: str) -> Draft:
        return Draft(lines=[text], evidence=[Evidence("rep", 3, 3, f"目標一の取組: {text}")])

    def box(name: str, raw: str, value: float) -> Draft:
        latest = {"raw": raw, "value": value, "unit": "h"}
        return Draft(
            lines=[f"{name}は{raw}"], kpis=[{"type": "progress_kpi", "name": name, "latest": latest}]
        )

    a, b = bullet("甲研修（2,005人）"), bullet("乙研修（階層別研修656人）")
    assert (
        which_of_two("甲研修と乙研修、どっちが受講者多い？", [a, b])
        == "「甲研修」（2,005人）の方が多いです（「乙研修」は656人）。"
    )
    assert which_of_two("受講者が少ないのはどっち？", [a, b]).startswith("「乙研修」（656人）の方が少ない")
    x, y = box("甲の削減時間", "12,328h", 12328.0), box("乙の削減時間", "1,223h", 1223.0)
    assert which_of_two("Which saved more time, A or B?", [y, x]).startswith(
        "「甲の削減時間」 (12,328h) is larger than"
    )
    assert which_of_two("甲と乙、それぞれ何時間？", [x, y]) is None  # asked of each, no comparison
    assert which_of_two("どっちが多い？", [a, x]) is None  # 人 and h: no comparison


def test_a_target_the_question_states_is_not_asked_only_whether_it_was_met():
    # 「目標の1,731か所に届いた？」 gives the target: a report with no actual answers nothing asked
    stated = detect("設置箇所、R5の実績で目標の1,731か所に届いたの？")
    assert stated.has("met", "actual") and not stated.has("target")
    assert detect("目標の0件は守れた？").has("met")
    assert detect("目標は何か所で、もう届いた？").has("target")  # asked, not stated


def test_a_record_named_before_to_and_an_attribute_asked_after_it_are_two_parts(k, linker):
    parts = understand("電子届出導入団体数のR5実績と、甲2を担当している課を教えて", [], k, linker).parts
    assert len(parts) == 2 and parts[0].pins == ("rep:kpi:01",) and parts[1].ids == ("甲2",)


def test_the_topic_is_what_is_left_when_every_asking_word_is_removed_from_the_question_as_asked():
    from assistant.intent import topic_of

    topic = topic_of("令和5年度の実績報告に載っている3つの重点目標は何ですか？")
    assert (
        "報告" not in topic and "重点目標" in topic
    )  # 「実績報告」 is one asking word, not 「実績」 and 「報告」


def test_a_follow_up_with_no_words_of_its_own_asks_about_the_conversations_subject(k, linker):
    history = [
        Turn(role="user", content="無線網の設置箇所数のKPIはある？"),
        Turn(
            role="assistant",
            content="目標指標「無線網の設置箇所数」（単位: 箇所）の現状値は10箇所（R2.12時点）です。",
        ),
    ]
    part = understand("で、計画の最後の年の目標値はいくつになってますか？", history, k, linker).parts[0]
    assert part.pins == ("plan:kpi:01",) and part.intent.final_year


def test_a_change_from_a_year_the_report_does_not_give_is_not_computed_from_another(k, catalog):
    from assistant.answer_kpi import answer_kpi
    from assistant.intent import detect

    box = catalog.progress_kpis[0]  # baseline R2, latest R5
    asked = answer_kpi(k, [], [box], detect("電子届出導入団体数はR4より増えた？"))
    assert not any("増加" in x for x in asked.lines) and not asked.answerable
    given = answer_kpi(k, [], [box], detect("電子届出導入団体数はR2からどれだけ増えた？"))
    assert any("5団体の増加" in x or "5団体" in x and "増加" in x for x in given.lines)


def test_a_year_naming_a_document_is_not_an_asked_year():
    from assistant.intent import detect

    assert detect("R5実績の資料で一番新しい値は？").years == ()
    assert detect("令和5年度実績のレポートで最新の数字は？").years == ()
    assert detect("R5年度の実績報告でR4の値は？").years == (2022,)
    assert detect("R5の実績は？").years == (2023,)


def test_a_kpi_that_counts_is_not_a_count_of_the_plans_kpis():
    from assistant.intent import detect

    assert not detect("情報セキュリティインシデントの件数に関するKPIを教えてください。").has("count_items")
    assert detect("KPIは何個ある？").has("count_items")
    assert detect("主な個別施策って全部でいくつ載ってる？").has("count_items")
    assert detect("How many KPIs does the plan set?").has("count_items")


def test_the_plan_and_the_actual_asked_side_by_side_are_two_parts():
    from assistant.split import contrasted as _contrasted

    assert _contrasted(
        "基幹システム、計画ではいつの機器更新に合わせるとされていて、実際にはいつ動き出した？"
    ) == [
        "基幹システム、計画ではいつの機器更新に合わせるとされていて",
        "実際にはいつ動き出した？",
    ]
    # a topic first, then one ask
    assert len(_contrasted("ポリシーで掲げた公開数の目標って、実績報告を見るともうクリアしてる？")) == 1


def test_a_count_of_measures_may_be_asked_after_a_comma():
    from assistant.intent import detect

    assert detect("主な個別施策は、合計で何件掲載されていますか？").has("count_items")


def test_the_same_asked_of_measures_joined_by_a_dot_is_one_part_each(k, linker):
    q = understand("甲1・甲2の担当は？", [], k, linker)
    assert [p.ids for p in q.parts] == [("甲1",), ("甲2",)]


def test_a_corpus_word_made_of_question_words_is_a_question_word(catalog):
    k = Knowledge(catalog, [["担当部署", "試験課"], ["目標達成"]])
    words = k.question_words({"担当", "部署", "目標", "達成"})
    assert {"担当部署", "目標達成"} <= words and "試験課" not in words


def test_likewise_opens_a_follow_up_but_refers_to_nothing():
    from assistant.intent import detect

    assert not detect("では、同じく中小企業向けのセミナーには何人が参加しましたか？").anaphoric
    assert detect("同じ施策の担当は？").anaphoric


def test_an_english_part_names_the_record_whose_name_embeds_closest_among_the_kinds_that_hold_the_answer(
    catalog,
):
    """The records' names are Japanese: an English question shares no bigram with them. With the embedder's vectors
    (here a fake one that maps the words to axes) the closest name of a kind that holds what is asked is linked,
    and only when it is close enough; a follow-up that says "it" keeps the conversation's subject."""
    axes = {"無線": 0, "wireless": 0, "会議": 1, "meeting": 1, "届出": 2, "filing": 2, "parking": 3}

    def vec(text: str) -> list[float]:
        v = [0.01, 0.01, 0.01, 0.01]
        for word, axis in axes.items():
            if word in text.lower():
                v[axis] += 1.0
        return v

    linker = Linker(
        catalog, set(tokenize(_GENERIC)), embed_query=vec, embed_names=lambda ns: [vec(n) for n in ns]
    )
    assert dense_pins(
        "What is the target for the wireless sites?", linker, detect("What is the target?")
    ) == ("plan:kpi:01",)
    actual = detect("How many bodies introduced filing in FY2023?")
    assert dense_pins("How many bodies introduced filing in FY2023?", linker, actual) == ("rep:kpi:01",)
    assert dense_pins("What is the target for parking?", linker, detect("What is the target?")) == ()  # far
    what = detect("What does the wireless measure do?")
    assert dense_pins("What does the wireless measure do?", linker, what) == (
        next(e.ref for e in linker.entities if e.kind == "measure" and "無線" in e.name),
    )  # what a measure does: among measures only
    it = detect("What is its target?")
    assert dense_pins("What is its target?", linker, it, follow_up=True) == ()
    assert Linker(catalog, set()).dense("wireless") == []  # no embedder, no dense link


def test_a_japanese_part_describing_a_record_in_its_own_words_is_linked_when_retrieval_agrees(catalog):
    """「会議を遠くからやる仕組みの担当は？」 shares no name bigram with 「遠隔会議システムの活用」; its closest name in
    the embedder's space is linked only when the retrieval ranks that record's chunk first too, and never for a
    yes/no check (the claim decides what it is about)."""
    axes = {"遠隔会議": 0, "遠くから": 0, "無線": 1, "電波": 1}

    def vec(text: str) -> list[float]:
        v = [0.01, 0.01, 0.01]
        for word, axis in axes.items():
            if word in text:
                v[axis] += 1.0
        return v

    linker = Linker(
        catalog, set(tokenize(_GENERIC)), embed_query=vec, embed_names=lambda ns: [vec(n) for n in ns]
    )
    owner = detect("会議を遠くからやる仕組みの担当は？")
    meeting = next(e.ref for e in linker.entities if e.name == "遠隔会議システムの活用")
    assert agreed_pins("会議を遠くからやる仕組みの担当は？", linker, owner, {meeting}) == (meeting,)
    assert agreed_pins("会議を遠くからやる仕組みの担当は？", linker, owner, {"other"}) == ()  # no agreement
    what = detect("会議を遠くからやる仕組みってどんなもの？")
    assert agreed_pins("会議を遠くからやる仕組みってどんなもの？", linker, what, {meeting}) == (meeting,)
    claim = detect("会議を遠くからやる仕組みは見本課の担当で合ってる？")
    assert agreed_pins("会議を遠くからやる仕組みは見本課の担当で合ってる？", linker, claim, {meeting}) == ()


def test_a_report_bullet_named_where_a_plan_figure_is_asked_stands_for_the_plan_kpi_it_carries(k, linker):
    # the bullet 「模擬相談会の開催（12回）」 carries the actual of the plan KPI 「模擬相談会開催回数」 (assistant/join.py)
    assert understand("模擬相談会の開催、R5に開いた回数は？", [], k, linker).parts[0].pins == (
        "initiative@9",
    )
    asked_plan = understand("模擬相談会の開催、計画の目標回数とR5に開いた回数は？", [], k, linker)
    assert asked_plan.parts[0].pins == ("plan:kpi:03",)


def test_an_english_alternative_is_read_as_a_coordination_of_its_sides():
    from assistant.split import contrasted

    assert contrasted("Which saved more hours: the X system or the Y tool?") == [
        "X system and Y tool, Which saved more hours?"
    ]
    # a side read with the documents' Japanese terms is named by them
    assert contrasted("Which saved more: the minutes（議事録） system or the apps（アプリ）?") == [
        "議事録 and アプリ, Which saved more?"
    ]
    assert contrasted("Which measure is this?") == ["Which measure is this?"]
