"""Quality rules: each rule's positives and negatives, every script kept, counts add up."""

from __future__ import annotations

import polars as pl
import pytest

from curation.quality import (
    REASON_COLUMN,
    REASON_ORDER,
    REPEATED_CHARS,
    SYMBOLS_ONLY,
    TOO_LONG,
    TOO_SHORT,
    QualityConfig,
    apply_quality,
    quality_reason,
    quality_reasons,
)

REAL_POSTS: dict[str, str] = {
    "latin": "Das Konzert gestern war einfach großartig!",
    "latin_emoji": "Best day ever at the beach 😂😂😂🌊",
    "greek": "Καλημέρα σε όλους!",
    "cyrillic": "Привет всем, как дела?",
    "arabic": "شكرا جزيلا لكم جميعا",
    "hebrew": "תודה רבה לכולכם",
    "devanagari": "बहुत-बहुत धन्यवाद आपका",
    "thai": "สวัสดีครับทุกคน",
    "chinese": "今天天气很好",
    "chinese_4": "今天很好",
    "japanese": "ありがとうございます",
    "korean": "감사합니다",
    "armenian": "Շնորհակալություն",
    "georgian": "გმადლობთ ყველას",
    "with_mention": "@USER thanks a lot for this!",
    "ellipsis_run": "Well... I guess so..........",
}


def _rule(code: str, config: QualityConfig | None = None) -> pl.Expr:
    return dict(quality_reasons(config))[code]


def _fails(code: str, texts: list[str | None], config: QualityConfig | None = None) -> list[bool]:
    frame = pl.DataFrame({"text": texts}, schema={"text": pl.String})
    return frame.select(_rule(code, config).alias("fails")).get_column("fails").to_list()


def _reasons(texts: list[str | None], config: QualityConfig | None = None) -> list[str | None]:
    frame = pl.DataFrame({"text": texts}, schema={"text": pl.String})
    return frame.select(quality_reason(config)).get_column(REASON_COLUMN).to_list()


# --- each rule on its own ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "positives", "negatives"),
    [
        (
            REPEATED_CHARS,
            [
                "aaaaaaaaaaaaaaa",
                "!!!!!!!!!!!!",
                "Great!!!!!!!!!!!",
                "Nooooooooooooo way",
                "😂" * 11,
            ],
            ["!!!!!!!!!!", "Nooooooooo way", "Great!!!", "😂" * 10, "ha" * 20, "", None],
        ),
        (
            SYMBOLS_ONLY,
            ["😂😂😂", "!!!", "…", "12:30 – 14:00", "👍🏽👍🏽", "a 😂😂😂😂😂😂😂😂", "#️⃣ 2️⃣"],
            ["ok 👍", "lol 😂😂😂😂😂😂", "Score 3-1!!!", "Καλημέρα", "", None, "   "],
        ),
        (
            TOO_SHORT,
            ["", None, "   ", "ok 👍", "thank you", "谢谢你", "@USER @USER https://t.co/x"],
            ["thank you!", "今天很好", "ありがとう", "Καλημέρα σας", "@USER thanks a lot"],
        ),
    ],
)
def test_rule_positives_and_negatives(
    code: str, positives: list[str | None], negatives: list[str | None]
) -> None:
    assert _fails(code, positives) == [True] * len(positives)
    assert _fails(code, negatives) == [False] * len(negatives)


def test_too_long_only_when_configured() -> None:
    assert TOO_LONG not in dict(quality_reasons())
    config = QualityConfig(max_chars=20)
    assert _fails(TOO_LONG, ["x" * 21 + " y", "short enough text", None], config) == [
        True,
        False,
        False,
    ]


def test_rules_never_return_null() -> None:
    frame = pl.DataFrame({"text": [None, "", "😂", "fine text here"]}, schema={"text": pl.String})
    out = frame.select(
        [expr.alias(code) for code, expr in quality_reasons(QualityConfig(max_chars=100))]
    )
    assert out.null_count().row(0) == (0,) * out.width


# --- order and thresholds ----------------------------------------------------------------


def test_first_failing_rule_wins_in_reason_order() -> None:
    assert [code for code, _ in quality_reasons(QualityConfig(max_chars=100))] == list(REASON_ORDER)
    # "!!!!!!!!!!!!" is also symbols only and "😂😂😂" also too short
    texts = ["!!!!!!!!!!!!", "😂😂😂", "ok 👍", "A perfectly fine post.", None]
    assert _reasons(texts) == [REPEATED_CHARS, SYMBOLS_ONLY, TOO_SHORT, None, TOO_SHORT]


def test_thresholds_are_configurable() -> None:
    assert _reasons(["ok 👍"], QualityConfig(min_chars=3)) == [None]
    assert _reasons(["Nooooo"], QualityConfig(max_repeat_run=4, min_chars=0)) == [REPEATED_CHARS]
    assert _reasons(["a 😂😂😂😂"], QualityConfig(min_letter_ratio=0.0, min_chars=0)) == [None]
    assert _reasons(["今天天气很好"], QualityConfig(cjk_char_weight=1.0)) == [TOO_SHORT]
    kept_mentions = QualityConfig(strip_urls_and_mentions=False)
    assert _reasons(["@some_long_handle"], kept_mentions) == [None]
    assert _reasons(["@some_long_handle"]) == [TOO_SHORT]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_chars": -1},
        {"max_repeat_run": 0},
        {"min_letter_ratio": 1.5},
        {"max_chars": 5},
        {"cjk_char_weight": 0},
    ],
)
def test_invalid_config_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        QualityConfig(**kwargs)  # type: ignore[arg-type]


def test_config_is_frozen() -> None:
    config = QualityConfig()
    with pytest.raises(AttributeError):
        config.min_chars = 3  # type: ignore[misc]


# --- apply_quality -----------------------------------------------------------------------


@pytest.mark.parametrize("script", sorted(REAL_POSTS))
def test_real_posts_in_every_script_are_kept(script: str) -> None:
    kept, dropped, counts = apply_quality(pl.DataFrame({"text": [REAL_POSTS[script]]}))
    assert dropped.height == 0, dropped.to_dicts()
    assert kept.height == 1
    assert counts["kept"] == 1


def test_keep_or_drop_with_reason_and_counts_add_up() -> None:
    junk = ["aaaaaaaaaaaaaaa", "!!!!!!!!!!!!", "😂😂😂", "!!!", "…", "ok 👍", "", None, "x" * 600]
    texts = [*REAL_POSTS.values(), *junk]
    frame = pl.DataFrame({"id": list(range(len(texts))), "text": texts})
    kept, dropped, counts = apply_quality(frame, QualityConfig(max_chars=500))

    assert kept.height + dropped.height == frame.height
    assert counts["kept"] + counts["dropped"] == frame.height
    assert counts["kept"] == kept.height == len(REAL_POSTS)
    assert counts["dropped"] == dropped.height == len(junk)
    assert sum(v for k, v in counts.items() if k.startswith("dropped_")) == counts["dropped"]
    assert set(counts) == {"kept", "dropped", *(f"dropped_{code}" for code in REASON_ORDER)}
    assert counts == {
        "kept": len(REAL_POSTS),
        "dropped": len(junk),
        "dropped_repeated_chars": 3,  # the 600 x's are a run too, checked before too_long
        "dropped_symbols_only": 3,
        "dropped_too_short": 3,
        "dropped_too_long": 0,
    }

    assert kept.columns == frame.columns
    assert dropped.columns == [*frame.columns, REASON_COLUMN]
    assert dropped.get_column(REASON_COLUMN).null_count() == 0
    assert sorted([*kept.get_column("id"), *dropped.get_column("id")]) == list(range(len(texts)))
    assert kept.get_column("text").to_list() == list(REAL_POSTS.values())  # order, text kept


def test_too_long_counted_when_enabled() -> None:
    long_post = "This sentence is fine. " * 50
    _, dropped, counts = apply_quality(
        pl.DataFrame({"text": [long_post, "A short fine post."]}), QualityConfig(max_chars=200)
    )
    assert dropped.get_column(REASON_COLUMN).to_list() == [TOO_LONG]
    assert counts["dropped_too_long"] == 1


def test_zero_counts_are_reported_and_empty_frame_works() -> None:
    empty = pl.DataFrame({"text": []}, schema={"text": pl.String})
    kept, dropped, counts = apply_quality(empty)
    assert kept.height == dropped.height == 0
    assert counts == {
        "kept": 0,
        "dropped": 0,
        "dropped_repeated_chars": 0,
        "dropped_symbols_only": 0,
        "dropped_too_short": 0,
    }


def test_custom_column_and_missing_column() -> None:
    frame = pl.DataFrame({"body": ["A perfectly normal post.", "😂😂😂"]})
    kept, dropped, _ = apply_quality(frame, QualityConfig(column="body"))
    assert kept.get_column("body").to_list() == ["A perfectly normal post."]
    assert dropped.get_column(REASON_COLUMN).to_list() == [SYMBOLS_ONLY]
    with pytest.raises(ValueError, match="lacks text column"):
        apply_quality(frame)
