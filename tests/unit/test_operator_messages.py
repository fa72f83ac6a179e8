"""Operator-bot messages as data: every locale, hostile lead text, Telegram's limits.

Each rendered message is checked with the fake Bot API's HTML rules
(`html_problem`), so "parses in Telegram" is proven the same way the API
tests prove it.
"""

from __future__ import annotations

import html
import re
import unicodedata
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.channels import operator_messages as om
from chalicelib.channels.operator_messages import AppealNotice, EscalationNotice
from scripts.local.fakes.telegram import html_problem, visible_length

APPEAL_ID = "ap_0193a5b2c4d5e6f708192a3b"
DEADLINE = datetime(2026, 3, 3, 11, 5, tzinfo=UTC)
HOSTILE = (
    "</b><a href='https://evil.example'>pay here</a> <script>alert(1)</script> & &amp; &lt; "
    "*bold* _italic_ `code` [link](http://x) 👨‍👩‍👧‍👦 🇺🇦 e\u0301 \u202egpj.exe\u202c \u200bzero\u200b width \ufeff"
)


def notice(**changes: object) -> AppealNotice:
    base: dict[str, object] = {
        "appeal_id": APPEAL_ID,
        "source_name": "Website chat",
        "lead_name": "Ivan Petrov",
        "text": "Hello, I would like to know the price.",
        "score": 0.82,
        "top_factor": "budget stated",
        "accept_by": DEADLINE,
        "locale": "en",
    }
    base.update(changes)
    return AppealNotice(**base)  # type: ignore[arg-type]


def shown(rendered: om.Rendered) -> str:
    """The text a person sees: tags gone, entities decoded (what Telegram does)."""
    return html.unescape(re.sub(r"<[^>]+>", "", rendered.text))


def assert_telegram_accepts(rendered: om.Rendered) -> None:
    assert html_problem(rendered.text) is None, rendered.text
    assert om.telegram_length(rendered.text) <= 4096
    assert visible_length(rendered.text) <= 4096
    if rendered.reply_markup is not None:
        for row in rendered.reply_markup.inline_keyboard:
            for button in row:
                assert len((button.callback_data or "").encode()) <= 64


# --- the assignment message --------------------------------------------------------------------


def test_GIVEN_an_appeal_WHEN_rendered_in_english_THEN_source_lead_text_score_factor_and_deadline_show() -> None:
    rendered = om.render_assignment(notice())

    assert_telegram_accepts(rendered)
    assert shown(rendered).splitlines() == [
        "🆕 New appeal · Website chat",
        "👤 Ivan Petrov",
        "⭐ Score 0.82 · budget stated",
        "⏱ Accept by 3 Mar, 11:05 UTC",
        "",
        "Hello, I would like to know the price.",
    ]
    assert rendered.parse_mode == "HTML"


def test_GIVEN_an_appeal_WHEN_rendered_THEN_accept_close_carry_compact_callback_data_and_open_needs_a_console_url() -> (
    None
):
    without = om.render_assignment(notice())
    with_console = om.render_assignment(notice(), console_base_url="https://crm.example.com/console/")

    assert without.reply_markup is not None and with_console.reply_markup is not None
    assert [[b.callback_data for b in row] for row in without.reply_markup.inline_keyboard] == [
        [f"a:{APPEAL_ID}", f"c:{APPEAL_ID}"]
    ]
    open_row = with_console.reply_markup.inline_keyboard[1]
    assert [(b.text, b.url) for b in open_row] == [
        ("🔗 Open", f"https://crm.example.com/console/#/appeals/{APPEAL_ID}")
    ]


@pytest.mark.parametrize(
    ("locale", "lines", "buttons"),
    [
        (
            "ru",
            ["🆕 Новое обращение · Website chat", "👤 Ivan Petrov", "⭐ Оценка 0,82 · budget stated"],
            ["✅ Принять", "✖️ Закрыть"],
        ),
        (
            "uk",
            ["🆕 Нове звернення · Website chat", "👤 Ivan Petrov", "⭐ Оцінка 0,82 · budget stated"],
            ["✅ Прийняти", "✖️ Закрити"],
        ),
    ],
)
def test_GIVEN_an_operator_locale_WHEN_rendered_THEN_words_numbers_and_buttons_are_in_that_language(
    locale: str, lines: list[str], buttons: list[str]
) -> None:
    rendered = om.render_assignment(notice(locale=locale))

    assert_telegram_accepts(rendered)
    assert shown(rendered).splitlines()[:3] == lines
    assert rendered.reply_markup is not None
    assert [b.text for b in rendered.reply_markup.inline_keyboard[0]] == buttons


@pytest.mark.parametrize(
    ("locale", "zone", "expected"),
    [
        ("en", None, "⏱ Accept by 3 Mar, 11:05 UTC"),
        ("ru", "Europe/Moscow", "⏱ Принять до 3 мар., 14:05 MSK"),
        ("uk", "Europe/Kyiv", "⏱ Прийняти до 3 бер., 13:05 EET"),
        ("uk", "Not/AZone", "⏱ Прийняти до 3 бер., 11:05 UTC"),
    ],
)
def test_GIVEN_a_deadline_WHEN_rendered_THEN_it_reads_in_the_operators_language_and_time_zone(
    locale: str, zone: str | None, expected: str
) -> None:
    rendered = om.render_assignment(notice(locale=locale, timezone=zone))

    assert expected in shown(rendered).splitlines()


def test_GIVEN_no_score_no_deadline_no_name_no_text_WHEN_rendered_THEN_those_lines_are_left_out_or_say_so() -> None:
    rendered = om.render_assignment(notice(score=None, accept_by=None, lead_name="  \u200b ", text=" \n "))

    assert_telegram_accepts(rendered)
    assert shown(rendered).splitlines() == ["🆕 New appeal · Website chat", "👤 Unnamed lead", "", "(no text)"]


def test_GIVEN_a_score_but_no_factor_or_a_nan_score_WHEN_rendered_THEN_the_score_line_is_whole_or_absent() -> None:
    plain = shown(om.render_assignment(notice(top_factor=None)))
    nan = shown(om.render_assignment(notice(score=float("nan"))))

    assert "⭐ Score 0.82" in plain.splitlines()
    assert "Score" not in nan


def test_GIVEN_an_unsupported_locale_WHEN_rendered_THEN_the_default_then_english() -> None:
    assert shown(om.render_assignment(notice(locale="de"), default_locale="ru")).startswith("🆕 Новое обращение")
    assert shown(om.render_assignment(notice(locale=None), default_locale="xx")).startswith("🆕 New appeal")
    assert [om.resolve_locale(x) for x in ("ru-RU", "UK", "uk_UA", "ua", "en-GB", "", None)] == [
        "ru",
        "uk",
        "uk",
        "uk",
        "en",
        "en",
        "en",
    ]


# --- hostile text --------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", om.SUPPORTED_LOCALES)
def test_GIVEN_hostile_lead_text_and_names_WHEN_rendered_THEN_telegram_parses_it_and_shows_the_characters_literally(
    locale: str,
) -> None:
    rendered = om.render_assignment(
        notice(text=HOSTILE, lead_name="<b>Boss</b> & Co", source_name="<i>src", top_factor="a<b", locale=locale)
    )

    assert_telegram_accepts(rendered)
    seen = shown(rendered)
    assert "<script>alert(1)</script> & &amp; &lt; *bold* _italic_ `code` [link](http://x)" in seen
    assert "👤 <b>Boss</b> & Co" in seen and "· <i>src" in seen and "a<b" in seen
    assert "👨‍👩‍👧‍👦 🇺🇦 e\u0301" in seen
    # direction overrides, zero-width space and BOM are gone; the words stay
    assert not set("\u202e\u202c\u200b\ufeff") & set(seen)
    assert "gpj.exe zero width" in seen
    assert "<a href" not in rendered.text and "<script>" not in rendered.text


def test_GIVEN_a_multiline_name_WHEN_rendered_THEN_it_stays_on_its_line() -> None:
    rendered = om.render_assignment(notice(lead_name="Ivan\n\nFAKE: ⭐ Score 1.00\r\nPetrov"))

    assert "👤 Ivan FAKE: ⭐ Score 1.00 Petrov" in shown(rendered).splitlines()


def test_GIVEN_a_message_of_ten_thousand_ampersands_WHEN_rendered_THEN_cut_to_the_limit_with_an_ellipsis() -> None:
    rendered = om.render_assignment(notice(text="&" * 10_000))

    assert_telegram_accepts(rendered)
    quoted = shown(rendered).split("\n\n", 1)[1]
    assert quoted.endswith("…")
    assert set(quoted[:-1]) == {"&"} and len(quoted) <= om.LEAD_TEXT_MAX_LENGTH


def test_GIVEN_long_lines_of_newlines_and_zalgo_WHEN_rendered_THEN_blank_runs_and_mark_stacks_are_bounded() -> None:
    zalgo = "Z" + "\u0336\u0335\u0334" * 100 + "alg"
    rendered = om.render_assignment(notice(text="a\n\n\n\n\n\nb " + zalgo))

    quoted = shown(rendered).split("\n\n", 1)[1]
    assert quoted.startswith("a\n\nb Z")
    assert max(len(run) for run in re.findall(r"[\u0300-\u036f]+", quoted)) == 8


@pytest.mark.parametrize(
    "cluster",
    [
        "👨‍👩‍👧‍👦",  # ZWJ sequence
        "🇺🇦",  # flag: two regional indicators
        "👍🏽",  # skin tone
        "e\u0301",  # combining accent
        "1️⃣",  # keycap
        "🏴󠁧󠁢󠁳󠁣󠁴󠁿",  # subdivision flag (tags)
        "❤️",  # variation selector
        "\u1100\u1161\u11a8",  # Hangul jamo
    ],
)
@pytest.mark.parametrize("offset", range(6))
def test_GIVEN_a_cut_falling_inside_a_grapheme_WHEN_cut_THEN_the_grapheme_is_kept_whole_or_left_out(
    cluster: str, offset: int
) -> None:
    text = "x" * offset + cluster * 200

    cut = om.excerpt(text, 41)

    assert cut.endswith("…") and om.telegram_length(cut) <= 41
    body = cut[:-1][offset:]
    assert body == cluster * (len(body) // len(cluster))


def test_GIVEN_words_WHEN_cut_THEN_the_cut_prefers_the_last_space_nearby() -> None:
    assert om.excerpt("The quick brown fox jumps over the lazy dog", 20) == "The quick brown fox…"


def test_GIVEN_short_text_WHEN_excerpted_THEN_unchanged_but_cleaned() -> None:
    assert om.excerpt("  hi\u200b there\t!  ") == "hi there !"


@settings(max_examples=150, deadline=None)
@given(
    text=st.text(max_size=6000),
    name=st.text(max_size=300),
    source=st.text(max_size=300),
    factor=st.text(max_size=300),
    locale=st.sampled_from(["en", "ru", "uk", "xx"]),
)
def test_GIVEN_any_text_in_any_locale_WHEN_rendered_THEN_telegram_parses_it_within_its_limits(
    text: str, name: str, source: str, factor: str, locale: str
) -> None:
    rendered = om.render_assignment(
        notice(text=text, lead_name=name, source_name=source, top_factor=factor, locale=locale),
        console_base_url="https://crm.example.com/console",
    )

    assert_telegram_accepts(rendered)
    assert "\u202e" not in rendered.text and "\x00" not in rendered.text
    cleaned = om.clean_text(text)
    quoted = shown(rendered).split("\n\n", 1)[1]
    if cleaned and om.telegram_length(cleaned) <= 1000:
        assert quoted == cleaned
    elif cleaned:
        prefix = quoted.removesuffix("…").rstrip()
        assert cleaned.startswith(prefix)
        assert not prefix or unicodedata.category(prefix[-1]) not in ("Mn", "Me")


# --- the edits and other messages ----------------------------------------------------------------


def test_GIVEN_an_accepted_appeal_WHEN_rendered_THEN_the_deadline_and_accept_go_and_close_stays() -> None:
    rendered = om.render_accepted(notice(locale="ru"), console_base_url="https://crm.example.com")

    assert_telegram_accepts(rendered)
    assert shown(rendered).startswith("✅ Принято · Website chat")
    assert "Принять до" not in shown(rendered)
    assert rendered.reply_markup is not None
    assert [[b.callback_data or b.url for b in row] for row in rendered.reply_markup.inline_keyboard] == [
        [f"c:{APPEAL_ID}"],
        [f"https://crm.example.com/#/appeals/{APPEAL_ID}"],
    ]


@pytest.mark.parametrize(
    ("reason", "locale", "says"),
    [
        ("sla_lapsed", "en", "It was not accepted before the deadline, so it was handed on."),
        ("redistributed", "ru", "Оно передано другому оператору."),
        ("returned_to_line", "uk", "Воно повернулося в чергу."),
    ],
)
def test_GIVEN_a_taken_back_appeal_WHEN_its_message_is_rendered_THEN_it_says_why_and_has_no_buttons(
    reason: om.TakenBackReason, locale: str, says: str
) -> None:
    rendered = om.render_taken_back(reason, source_name="Site <1>", lead_name="Ivan & co", locale=locale)

    assert_telegram_accepts(rendered)
    assert rendered.reply_markup is None
    lines = shown(rendered).splitlines()
    assert lines[0].endswith("· Site <1>") and lines[1] == "👤 Ivan & co" and lines[2] == says


def test_GIVEN_a_closed_appeal_WHEN_its_message_is_rendered_THEN_no_buttons() -> None:
    rendered = om.render_closed(source_name="Site", lead_name=None, locale="uk")

    assert (shown(rendered), rendered.reply_markup) == ("☑️ Закрито · Site", None)


@pytest.mark.parametrize(
    ("locale", "lapses", "says"),
    [
        ("en", 3, "Not accepted in time 3 times: it needs a person to decide."),
        ("ru", 3, "Не принято вовремя 3 раза: нужно решение человека."),
        ("ru", 5, "Не принято вовремя 5 раз: нужно решение человека."),
        ("uk", 21, "Не прийнято вчасно 21 раз: потрібне рішення людини."),
        ("uk", 4, "Не прийнято вчасно 4 рази: потрібне рішення людини."),
    ],
)
def test_GIVEN_an_escalation_WHEN_rendered_for_the_admins_THEN_it_says_why_in_their_language(
    locale: str, lapses: int, says: str
) -> None:
    escalation = EscalationNotice(
        appeal_id=APPEAL_ID,
        source_name="Site",
        lead_name="Ivan",
        text="x" * 2000,
        reason="sla_lapsed_repeatedly",
        lapses=lapses,
        waiting_since=DEADLINE - timedelta(hours=1),
        locale=locale,
    )

    rendered = om.render_escalation(escalation, console_base_url="https://crm.example.com")

    assert_telegram_accepts(rendered)
    lines = shown(rendered).splitlines()
    assert lines[0].startswith("🚨") and lines[2] == says and "10:05 UTC" in lines[3]
    assert len(lines[-1]) <= 300
    assert rendered.reply_markup is not None
    assert [b.url for row in rendered.reply_markup.inline_keyboard for b in row] == [
        f"https://crm.example.com/#/appeals/{APPEAL_ID}"
    ]


def test_GIVEN_no_operator_available_and_no_console_WHEN_escalation_is_rendered_THEN_no_buttons() -> None:
    rendered = om.render_escalation(
        EscalationNotice(APPEAL_ID, "Site", None, "hi", reason="no_operator_available", locale="en")
    )

    assert rendered.reply_markup is None
    assert "No operator can take it: it needs a person to decide." in shown(rendered)


@pytest.mark.parametrize(
    ("outcome", "locale", "says"),
    [
        ("linked", "en", "✅ Done: this chat is linked to <Olga>. New appeals will arrive here."),
        ("used", "ru", "⚠️ Эта ссылка уже использована. Получите новую в консоли."),
        ("expired", "uk", "⚠️ Термін дії цього посилання минув (воно діє 15 хвилин). Отримайте нове в консолі."),
        ("unknown", "en", "⚠️ This link is not valid. Get a new one in the console."),
        ("missing", "en", "⚠️ To receive appeals here, open the link from your profile in the console."),
    ],
)
def test_GIVEN_a_start_command_outcome_WHEN_rendered_THEN_it_says_what_happened(
    outcome: om.LinkOutcome, locale: str, says: str
) -> None:
    rendered = om.render_link_result(outcome, operator_name="<Olga>", locale=locale)

    assert_telegram_accepts(rendered)
    assert shown(rendered) == says


@pytest.mark.parametrize(
    ("locale", "count", "says"),
    [
        ("en", 0, "You had no unaccepted appeals."),
        ("en", 1, "1 unaccepted appeal went back to the line."),
        ("en", 2, "2 unaccepted appeals went back to the line."),
        ("ru", 1, "1 непринятое обращение вернулось в очередь."),
        ("ru", 2, "2 непринятых обращения вернулись в очередь."),
        ("ru", 11, "11 непринятых обращений вернулись в очередь."),
        ("ru", 22, "22 непринятых обращения вернулись в очередь."),
        ("uk", 21, "21 неприйняте звернення повернулося в чергу."),
        ("uk", 5, "5 неприйнятих звернень повернулися в чергу."),
    ],
)
def test_GIVEN_a_pause_WHEN_confirmed_THEN_the_count_of_returned_appeals_reads_right(
    locale: str, count: int, says: str
) -> None:
    rendered = om.render_paused(count, locale=locale)

    assert_telegram_accepts(rendered)
    assert shown(rendered).splitlines()[1] == says


def test_GIVEN_resume_and_help_WHEN_rendered_THEN_each_locale_answers() -> None:
    resumed = {locale: shown(om.render_resumed(locale=locale)) for locale in om.SUPPORTED_LOCALES}
    helped = [om.render_help(locale=locale) for locale in om.SUPPORTED_LOCALES]

    assert resumed["en"] == "▶️ You are back: new appeals will arrive here."
    assert len(set(resumed.values())) == 3
    for rendered in helped:
        assert_telegram_accepts(rendered)
        assert "/pause" in rendered.text and "/resume" in rendered.text


def test_GIVEN_every_press_outcome_WHEN_answered_THEN_plain_text_within_200_characters_in_each_locale() -> None:
    outcomes = (
        "accepted",
        "closed",
        "already_accepted",
        "already_closed",
        "not_yours",
        "taken_back",
        "not_linked",
        "unknown",
        "failed",
    )
    for locale in om.SUPPORTED_LOCALES:
        answers = [om.callback_answer(outcome, locale=locale) for outcome in outcomes]  # type: ignore[arg-type]
        assert all(0 < len(answer) <= 200 for answer in answers)
        assert len(set(answers)) == len(outcomes)
    assert om.callback_answer("not_yours", locale="en") == "This appeal is not yours: nothing was changed."
    assert om.callback_answer("already_closed", locale="ru") == "Это обращение уже закрыто."


# --- callback data and the catalogue -------------------------------------------------------------


def test_GIVEN_callback_data_we_made_WHEN_parsed_THEN_the_same_action_and_appeal() -> None:
    for action in ("accept", "close"):
        data = om.callback_data(action, APPEAL_ID)
        parsed = om.parse_callback_data(data)
        assert parsed == om.CallbackAction(action, APPEAL_ID)
    assert om.callback_data("accept", "x" * 62) == "a:" + "x" * 62


@pytest.mark.parametrize(
    "data",
    [None, "", "a:", "x:ap_1", "accept:ap_1", "a:ap_1:extra", "a:../../admin", "a:" + "x" * 63, "a:ap 1", "A:ap_1"],
)
def test_GIVEN_forged_or_malformed_callback_data_WHEN_parsed_THEN_nothing(data: str | None) -> None:
    assert om.parse_callback_data(data) is None


@pytest.mark.parametrize("appeal_id", ["", "x" * 63, "ap/1", "ap 1", "ап_1"])
def test_GIVEN_an_id_that_cannot_be_callback_data_WHEN_making_buttons_THEN_refused(appeal_id: str) -> None:
    with pytest.raises(ValueError, match="appeal id"):
        om.callback_data("accept", appeal_id)


def test_GIVEN_the_catalogue_WHEN_compared_across_locales_THEN_every_text_exists_everywhere_and_is_safe_html() -> None:
    plural = re.compile(r"\.(one|few|many|other)$")
    bases = {locale: {plural.sub("", key) for key in texts} for locale, texts in om.CATALOGUE.items()}
    forms = {"en": {"one", "other"}, "ru": {"one", "few", "many"}, "uk": {"one", "few", "many"}}

    assert set(om.CATALOGUE) == set(om.SUPPORTED_LOCALES)
    assert bases["en"] == bases["ru"] == bases["uk"]
    for locale, texts in om.CATALOGUE.items():
        for base in {plural.sub("", key) for key in texts if plural.search(key)}:
            assert {form for form in forms[locale] if f"{base}.{form}" in texts} == forms[locale], (locale, base)
        for key, text in texts.items():
            assert html_problem(text.replace("{name}", "x").replace("{n}", "1")) is None, (locale, key)
