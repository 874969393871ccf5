"""Escaping per channel (present.text): the exact text each channel gets for hostile input.

report and notify call these; their own tests pin the rendered messages, these pin the helpers."""

from __future__ import annotations

import pytest

from origin_auditor.present.text import clean, clip, email_subject, markdown


def test_clean_escapes_control_characters_by_code_point_width() -> None:
    assert clean("a\nb\x1b[31m\u202ec\U0001f600") == "a\\x0ab\\x1b[31m\\u202ec\U0001f600"
    assert clean("\U000e0001") == "\\U000e0001"


def test_clean_caps_the_length_with_an_ellipsis() -> None:
    assert clean("x" * 80) == "x" * 80
    assert clean("x" * 81) == "x" * 79 + "…"
    assert clean("\n" * 50, 10) == "\\x0a\\x0a\\" + "…"


def test_markdown_keeps_link_syntax_as_text_on_one_line() -> None:
    assert markdown("[Fix now](https://evil.example)\r\n| *x* `y`") == (
        "\\[Fix now\\]\\(https://evil.example\\)  \\| \\*x\\* \\`y\\`")


@pytest.mark.parametrize("ch", list("\\`*_{}[]()<>#!|~"))
def test_markdown_escapes_every_markup_character(ch: str) -> None:
    assert markdown(f"a{ch}b") == f"a\\{ch}b"


def test_markdown_leaves_plain_text_alone() -> None:
    assert markdown("origin.test: expired on 2026-01-01 - renew it.") == (
        "origin.test: expired on 2026-01-01 - renew it.")


def test_clip_bounds_a_plain_text_line() -> None:
    assert clip("y" * 600) == "y" * 600
    assert clip("y" * 601) == "y" * 597 + "..."
    assert clip("abcdef", 5) == "ab..."


def test_email_subject_is_printable_ascii_on_one_line_and_capped() -> None:
    assert email_subject("[FAIL]\t1 origin\r\nfailing: café\x00 ", 99) == "[FAIL] 1 origin failing: caf"
    long = email_subject("z" * 150, 99)
    assert long == "z" * 96 + "..."
    assert len(long) == 99
