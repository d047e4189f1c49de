"""The attribute vocabulary (assistant/vocab/attributes.toml) is reviewed data: every entry covers a class of
questions (at least two differently worded examples), recognises each of its examples and none of its negatives."""

import pytest

from assistant.intent import detect, vocabulary

ENTRIES = sorted(vocabulary())


@pytest.mark.parametrize("name", ENTRIES)
def test_entry_covers_a_class_of_questions(name):
    entry = vocabulary()[name]
    assert entry["patterns"], f"{name}: no patterns"
    examples = entry.get("examples", [])
    assert len(set(examples)) >= 2, f"{name}: an entry needs at least two differently worded examples"


@pytest.mark.parametrize("name", ENTRIES)
def test_entry_recognises_its_examples_and_not_its_negatives(name):
    entry = vocabulary()[name]
    derived = {"glossary": "glossary_maybe"}  # 「Xって何？」 may ask a term's meaning or a measure's content
    for q in entry["examples"]:
        asks = detect(q).asks
        assert name in asks or derived.get(name) in asks, f"{name} not recognised in its example {q!r}"
    for q in entry.get("negatives", []):
        assert name not in detect(q).asks, f"{name} wrongly recognised in its negative {q!r}"


def test_every_counter_group_is_recognised_in_its_examples():
    import tomllib

    from assistant.verify import COUNTERS, missing_asked

    groups = tomllib.loads(COUNTERS.read_text(encoding="utf-8"))["counter"]
    for g in groups:
        assert len(set(g["examples"])) >= 2, f"{g['names']}: needs two differently worded examples"
        for q in g["examples"]:
            assert missing_asked(q, []) is not None, f"{q!r} asks no counter of {g['names']}"
            figure = f"12{g['names'][-1]}"
            assert missing_asked(q, [f"実績は{figure}です。"]) is None, f"{figure} does not answer {q!r}"


def test_every_answer_type_covers_a_class_and_holds_its_fillers():
    """vocab/answer_types.toml: each type recognises its examples (at least two) and none of its negatives."""
    from assistant.answer_types import asked_type, types

    for name, entry in types().items():
        assert len(set(entry["examples"])) >= 2, f"{name}: needs two differently worded examples"
        for q in entry["examples"]:
            assert (asked_type(q) or ("",))[0] == name, f"{name} not recognised in its example {q!r}"
        for q in entry.get("negatives", []):
            assert (asked_type(q) or ("",))[0] != name, f"{name} wrongly recognised in its negative {q!r}"


@pytest.mark.parametrize(
    ("kind", "text", "holds"),
    [
        ("when", "令和２年９月１４日，我が県は宣言した", True),
        ("when", "事業開始はH20（2008年度）です", True),
        ("when", "受講者は1,234人でした", False),
        ("when", "基準値はR2の66.5%です", True),
        ("superlative", "公開数は150データセットです", False),
        ("superlative", "最も多いのは仙台市です", True),
        ("who", "担当所属は震災復興・企画部 情報政策課です", True),
        ("who", "コンテストを開催しました", False),
        ("who", "知事を本部長とする推進本部", True),
        ("share", "運用費は県と市町村で折半しています", True),
        ("claimed_date", "事業開始はH29（2017年度）です", True),
        ("procedure", "MNCカードの申請サポート・出張申請（185回）", False),
        ("procedure", "申込は県のホームページから受け付けています", True),
        ("claimed_date", "県産品ポータルサイト運用（サイト閲覧数増加 R4:62万 →R5:162万）", False),
        ("share", "県と市町村が協力して運用しています", False),
    ],
)
def test_an_answer_holds_the_asked_type_only_with_a_filler(kind, text, holds):
    from assistant.answer_types import holds_type

    assert holds_type(kind, text) is holds


def test_a_count_printed_bare_after_its_label_answers_how_many_items():
    from assistant.verify import missing_asked

    assert missing_asked("再掲は何件？", ["主な個別施策計 54（実数計 47・再掲計 7）"]) is None
    assert missing_asked("何人参加した？", ["事業数 177"]) == "何人"


def test_the_department_in_charge_does_not_answer_which_company():
    from assistant.answer_types import not_what_was_asked

    lines = ["企1「架空の整備」（担当: 試験部 試験課）の概要: 通信事業者と協力して整備します。"]
    assert not_what_was_asked("整備している通信事業者はどこの会社？", lines, ("試験課",)) is not None
    assert (
        not_what_was_asked("整備している通信事業者はどこの会社？", [*lines, "株式会社架空通信"], ("試験課",))
        is None
    )


def test_a_counted_set_of_places_needs_more_than_the_one_a_plant_is_named_after():
    from assistant.answer_types import holds_type

    q = "防災アプリが使える7市町って、具体的にどこ？"
    assert not holds_type("place", "女川原子力発電所周辺7市町で運用開始", q)
    assert holds_type("place", "女川町、石巻市、登米市などで運用開始", q)
    assert holds_type("place", "新設施設:松島自然の家", "新しく入った施設ってどこ？")


def test_the_documents_own_area_is_read_from_the_chunks():
    from assistant.answer_types import own_area

    texts = ["山形県の施策", "山形県と酒田市", "山形県の研修", "鶴岡市の事業"]
    assert own_area(texts, share=0.5) == ("山形県",)


def test_a_counted_set_asked_for_is_answered_by_listing_it():
    from assistant.answer_types import holds_type

    q = "架空法の3つの基本原則を教えて"
    assert holds_type("items", "基本原則は以下の3点です。①「甲」：…\n②「乙」：…\n③「丙」：…", q)
    assert not holds_type("items", "架空法の基本原則を策定し、試行運用を開始", q)


def test_a_year_past_the_plan_the_answer_does_not_mention_is_not_answered():
    from assistant.answer_types import unmentioned_year

    lines = ["計画の重点目標は次の3つです。"]
    assert unmentioned_year((2025,), lines, after=2024) == 2025
    assert unmentioned_year((2025,), ["令和7年度末までに見直す"], after=2024) is None
    assert unmentioned_year((2023,), lines, after=2024) is None


def test_a_latin_name_the_question_gives_and_the_answer_lacks_is_not_answered():
    from assistant.answer_types import unmentioned_name

    names = {"xyz", "5g"}.__contains__  # the documents' words
    other = ["「架空アプリ会員登録者数」のR5実績は1,768人です。"]
    assert unmentioned_name("XYZアプリの登録者数は？", other, names) == "XYZ"  # as the question spells it
    assert unmentioned_name("ＸＹＺアプリの登録者数は？", ["ＸＹＺの登録者数は5人"], names) is None  # NFKC
    assert unmentioned_name("5Gの実証はR5に何件？", other, names) == "5G"
    assert unmentioned_name("R5の登録者数は？", other, names) is None  # an era year is no name
    assert unmentioned_name("ABCアプリの登録者数は？", other, names) is None  # a word the documents never use
    assert unmentioned_name("How many XYZ users were there?", other, names) is None  # English: no names


def test_the_day_of_an_event_a_schedule_leaves_blank_is_not_answered_with_the_rows_around_it():
    from assistant.answer_types import blank_day

    rows = ["１２月 ２２日 第２回架空懇話会 ２月 日予定 第３回架空懇話会 ３月 29 日予定 計画決定"]
    assert blank_day("第3回の架空懇話会って何月何日にやったの？", rows) == "2月 日予定"
    assert blank_day("第3回の架空懇話会、2月の何日に開いたの？", rows) == "2月 日予定"
    assert blank_day("第2回の架空懇話会の日付は？", rows) is None  # its own day is printed
    assert blank_day("第3回の架空懇話会はいつ？", rows) is None  # the month is the answer to 「いつ」


def test_a_count_asked_as_kensu_needs_a_figure_in_that_counter():
    from assistant.verify import missing_asked

    assert missing_asked("情報セキュリティ事故の件数は？", ["広報を実施しています。"]) is not None
    assert missing_asked("情報セキュリティ事故の件数は？", ["インシデントは1件です。"]) is None
    assert (
        missing_asked("アグリテック導入法人数の目標は？", ["目標は45法人です。"]) is None
    )  # 法人数 is no 人数


def test_every_alias_covers_a_class_and_is_read_as_the_printed_name():
    from assistant.intent import aliases, expand_aliases

    for short, full, examples in aliases():
        assert len(set(examples)) >= 2, f"{short}: needs two differently worded examples"
        for q in examples:
            assert full in expand_aliases(q), f"{q!r} is not read with {full!r}"
    assert "県警察" in expand_aliases("宮城県警察")  # a short form inside a longer word is left alone


def test_every_english_term_covers_a_class_and_is_read_with_the_documents_japanese_word():
    from assistant.intent import english_terms, with_japanese_terms

    for _pattern, japanese, examples in english_terms():
        assert len(set(examples)) >= 2, f"{japanese}: needs two differently worded examples"
        for q in examples:
            assert f"（{japanese}）" in with_japanese_terms(q), f"{q!r} is not read with {japanese!r}"
    # the English words stay; the Japanese term follows them, once
    assert with_japanese_terms("What are the three key goals?") == "What are the three key goals（重点目標）?"
    assert "（" not in with_japanese_terms("Who is the contact person?")
