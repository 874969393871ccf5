"""Escaping per channel (present.text): the exact text each channel gets for hostile input.

report and notify call these; their own tests pin the rendered messages, these pin the helpers."""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from origin_auditor.bundle import check_bundle
from origin_auditor.cli import main
from origin_auditor.events import AlarmContext, ChangeContext
from origin_auditor.model import AuditReport, Classification, DistributionReport
from origin_auditor.notify import Message, build_message, plan_changes
from origin_auditor.present.text import (
    chat,
    chat_code,
    clean,
    clip,
    email_line,
    email_subject,
    html_text,
    markdown,
    markdown_code,
    terminal,
)
from origin_auditor.report import render_markdown, render_text
from origin_auditor.report_html import render_html
from origin_auditor_lab.pki import NOW, Issued, Pki, issue, pem_bundle

from .conftest import trust_of


def test_clean_escapes_control_characters_by_code_point_width() -> None:
    assert clean("a\nb\x1b[31m\u202ec\U0001f600") == "a\\x0ab\\x1b[31m\\u202ec\U0001f600"
    assert clean("\U000e0001") == "\\U000e0001"


def test_clean_caps_the_length_with_an_ellipsis() -> None:
    assert clean("x" * 80) == "x" * 80
    assert clean("x" * 81) == "x" * 79 + "…"
    assert clean("\n" * 50, 10) == "\\x0a\\x0a\\" + "…"


def test_markdown_keeps_link_syntax_as_text_on_one_line() -> None:
    # A line break shows as its escape (\x0d\x0a, its backslash escaped for markdown): the cell
    # says what the name holds, on one line.
    assert markdown("[Fix now](https://evil.example)\r\n| *x* `y`") == (
        "\\[Fix now\\]\\(https://evil.example\\)\\\\x0d\\\\x0a\\| \\*x\\* \\`y\\`")


def test_markdown_breaks_mentions_and_entities() -> None:
    assert markdown("@here ops@example.com &lt;b&gt;") == "＠here ops＠example.com \\&lt;b\\&gt;"


def test_markdown_code_is_one_span_a_backtick_cannot_end() -> None:
    assert markdown_code("a`b\nc") == "`a'b\\x0ac`"
    assert markdown_code("openssl s_client -cipher 'DEFAULT:@SECLEVEL=0' </dev/null @channel") == (
        "`openssl s_client -cipher 'DEFAULT:@SECLEVEL=0' </dev/null ＠channel`")
    assert markdown_code("") == "`-`"


def test_chat_uses_slack_entities_and_breaks_every_at_sign() -> None:
    assert chat("<!channel> & <@U1> @here\x1b") == "&lt;!channel&gt; &amp; &lt;＠U1&gt; ＠here\\x1b"


def test_chat_code_keeps_commands_copyable_but_breaks_broadcasts() -> None:
    assert chat_code("x` <!here> @Channel @SECLEVEL=0 *b*") == (
        "`x' &lt;!here&gt; ＠Channel @SECLEVEL=0 *b*`")


def test_terminal_escapes_c1_bidi_and_separators_without_a_cap() -> None:
    assert terminal("\x9b31m\u202e\u2028\u0085\t" + "x" * 200) == \
        "\\x9b31m\\u202e\\u2028\\x85\\x09" + "x" * 200


def test_email_line_is_one_bounded_line() -> None:
    assert email_line("a\nRESOLVED b") == "a\\x0aRESOLVED b"
    assert email_line("\n" * 300, 20) == "\\x0a" * 4 + "\\..."


@pytest.mark.parametrize("ch", list("\\`*_{}[]()<>#!|~&"))
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


# ---------------------------------------------------------------- one hostile table, every channel
#
# Text from outside (certificate fields, alarm names and reasons, CloudTrail actors, origin and
# distribution names, notes quoting AWS errors) reaches four channels: the terminal (text report,
# CLI messages), markdown (pull-request comments), chat (Amazon Q custom notification, Slack
# mrkdwn / Teams markdown) and e-mail (SNS subject and body). Each string below goes through the
# real path of every channel, and every channel keeps the same promises for all of them.

FORGED = "FORGED"  # what a hostile string tries to start a line with
HOSTILE = [
    pytest.param(f"<!channel> [click](https://evil.example)\n{FORGED}: fixed", id="mention-link-newline"),
    pytest.param("<@U012AB3CD> <!here|here> <!subteam^S1> @here @channel @everyone", id="mentions"),
    pytest.param(f"\x1b[2J\x1b[1;31mFAIL\x1b[0m\r{FORGED}\x9b31m\x07", id="esc-csi-c1-bel"),
    pytest.param(f"\u202eexample.com\u202c \u2066x\u2069 zero\u200bwidth\u2028{FORGED}", id="bidi-invisible"),
    pytest.param("`rm -rf /` *bold* _it_ ~strike~ <https://evil.ex|Fix> ![i](x)", id="markup"),
    pytest.param(f"a\r\n{FORGED}\u0085{FORGED}\x0b{FORGED}\x0c{FORGED}", id="line-breaks"),
    pytest.param("&lt;!channel&gt; &amp; | table | # head", id="entities"),
]

# Each fits a certificate's CN (at most 64 UTF-8 bytes), so the report and CLI paths carry it whole.
assert all(len(p.values[0].encode()) <= 64 for p in HOSTILE)  # type: ignore[union-attr]

_CODE_SPAN = re.compile(r"`[^`]*`")


def _lines_problems(text: str) -> list[str]:
    """What every channel promises for every line: nothing a terminal, mail reader or chat
    client interprets as control, and no line a hostile string began."""
    problems = []
    for line in text.split("\n"):
        if not line.isprintable():
            problems.append(f"non-printable character in {line!r}")
        if line.lstrip(" >-|*#").startswith(FORGED):
            problems.append(f"forged line {line!r}")
    return problems


def _markup_problems(text: str, *, chat: bool) -> list[str]:
    """Outside code spans: no mention, no link, no HTML/Slack angle brackets, no emphasis from
    outside text. Code spans are balanced on every line (no text escapes from one)."""
    problems = []
    for line in text.split("\n"):
        if line.count("`") % 2:
            problems.append(f"unbalanced code span in {line!r}")
        prose = _CODE_SPAN.sub("", line)
        unescaped_lt = "<" in prose if chat else re.search(r"(?<!\\)<", prose)
        if unescaped_lt:
            problems.append(f"angle bracket outside code in {line!r}")
        if "](" in prose:
            problems.append(f"link syntax outside code in {line!r}")
        if re.search(r"@\w", prose):
            problems.append(f"mention outside code in {line!r}")
        if any(tok in prose for tok in ("*bold*", "_it_", "~strike~")):
            problems.append(f"emphasis from outside text in {line!r}")
        # An entity in outside text is shown as typed, never decoded into the character.
        if re.search(r"&(?!amp;|lt;|gt;)" if chat else r"(?<!\\)&", prose):
            problems.append(f"unescaped ampersand in {line!r}")
    for span in _CODE_SPAN.findall(text):
        if re.search(r"@(here|channel|everyone)\b", span) or ("<" in span and chat):
            problems.append(f"mention inside code {span!r}")
    return problems


def _hostile_certs(tmp_path: Path, hostile: str) -> tuple[Pki, Issued, Path, Path]:
    """A leaf named ``hostile`` issued by an intermediate named ``hostile``; the bundle holds the
    leaf only (so the missing issuer is named in findings and in --fix's refusal)."""
    pki = Pki(hostnames=("origin.test",))
    inter = issue(hostile, pki.root, ca=True)
    leaf = issue(hostile, inter, dns_names=["origin.test"])
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(pem_bundle([leaf]))
    roots = tmp_path / "roots.pem"
    roots.write_bytes(pki.root_pem)
    return pki, inter, bundle, roots


def _hostile_report(tmp_path: Path, hostile: str) -> AuditReport:
    """A real check of a hostile bundle (certificate names in findings; the checked name is the
    hostile string itself), under a distribution whose aliases, reason and notes are hostile."""
    pki, _, bundle, _ = _hostile_certs(tmp_path, hostile)
    checked = check_bundle(bundle.read_bytes(), hostile, trust=trust_of(pki.root), at=NOW)
    result = replace(checked.result, target=replace(checked.result.target, distribution_ids=("E1HOSTILE",)))
    dist = DistributionReport("E1HOSTILE", Classification.LATENT, results=(0,), aliases=(hostile, "www.test"),
                              domain_name=hostile, reason=hostile)
    return AuditReport("2025-06-01T12:00:00Z", (result,), (dist,), notes=(f"Could not read {hostile}",))


def _message(tmp_path: Path, hostile: str) -> Message:
    report = _hostile_report(tmp_path, hostile)
    alarm = AlarmContext(name=hostile, state="ALARM", previous_state=hostile, reason=hostile, metric=hostile,
                         time=hostile, arn=None)
    change = ChangeContext(event_name=hostile, actor=hostile, time=hostile)
    msg = build_message(report, plan_changes(report, {}, now=1_750_000_000.0), alarm=alarm, change=change)
    assert msg is not None
    return msg


@pytest.mark.parametrize("hostile", HOSTILE)
def test_terminal_text_report_escapes_hostile_text(tmp_path: Path, hostile: str) -> None:
    text = render_text(_hostile_report(tmp_path, hostile))
    assert _lines_problems(text) == []
    assert "HOSTNAME_MISMATCH" in text and "CHAIN_INCOMPLETE" in text  # the hostile names were judged


@pytest.mark.parametrize("hostile", HOSTILE)
def test_markdown_report_escapes_hostile_text(tmp_path: Path, hostile: str) -> None:
    text = render_markdown(_hostile_report(tmp_path, hostile))
    assert _lines_problems(text) + _markup_problems(text, chat=False) == []


# What the HTML report itself writes: anything else came from outside text.
_HTML_TAGS = {"html", "head", "meta", "title", "style", "body", "header", "main", "section", "h1", "h2", "h3",
              "h4", "p", "div", "span", "table", "thead", "tbody", "tr", "th", "td", "ol", "li", "a", "code",
              "pre", "small", "strong", "footer"}
_HTML_ATTRS = {"lang", "charset", "http-equiv", "content", "name", "class", "id", "href", "style", "title"}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_html_report_escapes_hostile_text(tmp_path: Path, hostile: str) -> None:
    page = render_html(_hostile_report(tmp_path, hostile))
    assert _lines_problems(page) == []
    parsed = _Tags()
    parsed.feed(page)
    assert {t for t, _ in parsed.tags} <= _HTML_TAGS  # no element from outside text
    for _, attrs in parsed.tags:
        assert all(k in _HTML_ATTRS or k.startswith("data-") for k in attrs), attrs
        assert (attrs.get("href") or "#").startswith("#")
    # Shown as text, escaped as every channel does (a newline is \x0a, never a line of its own).
    shown = "".join(parsed.text)
    assert terminal(hostile) in shown
    assert "HOSTNAME_MISMATCH" in shown and "CHAIN_INCOMPLETE" in shown


def test_html_text_is_one_line_with_markup_as_entities() -> None:
    assert html_text("<a href='x'>\n&amp;") == "&lt;a href=&#x27;x&#x27;&gt;\\x0a&amp;amp;"


@pytest.mark.parametrize("hostile", HOSTILE)
def test_email_subject_and_body_escape_hostile_text(tmp_path: Path, hostile: str) -> None:
    msg = _message(tmp_path, hostile)
    assert msg.subject.isascii() and msg.subject.isprintable()
    assert _lines_problems(msg.structure["email"]) == []
    assert msg.structure["default"] == msg.structure["email"]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_chat_notification_escapes_hostile_text(tmp_path: Path, hostile: str) -> None:
    chat = json.loads(_message(tmp_path, hostile).structure["https"])
    content, meta = chat["content"], chat["metadata"]
    for text in (content["title"], content["description"], *content["nextSteps"]):
        assert _lines_problems(text) + _markup_problems(text, chat=True) == [], text
    for text in (*content["keywords"], meta["threadId"], meta["summary"], meta["eventType"],
                 *meta["relatedResources"], *meta.get("additionalContext", {}).values()):
        assert "\n" not in text
        assert _lines_problems(text) + _markup_problems(text, chat=True) == [], text
    assert "Alarm `" in content["description"]  # the alarm is named, as data


@pytest.mark.parametrize("hostile", HOSTILE)
def test_check_bundle_fix_refusal_escapes_hostile_certificate_names(tmp_path: Path, hostile: str) -> None:
    _, _, bundle, roots = _hostile_certs(tmp_path, hostile)
    out, err = io.StringIO(), io.StringIO()
    code = main(["check-bundle", str(bundle), "--host", "origin.test", "--ca-bundle", str(roots),
                 "--fix", str(tmp_path / "fixed.pem")], out=out, err=err)
    assert code == 1
    assert "--fix refused: the issuer of" in err.getvalue()
    assert _lines_problems(err.getvalue()) == []
    assert _lines_problems(out.getvalue()) == []
    assert not (tmp_path / "fixed.pem").exists()


@pytest.mark.parametrize("hostile", HOSTILE)
def test_cli_error_lines_escape_outside_text(tmp_path: Path, hostile: str) -> None:
    # A bundle that is not PEM is refused in one line, whatever bytes its name holds.
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    err = io.StringIO()
    code = main(["check-bundle", str(bad), "--host", "origin.test", "--at", hostile],
                out=io.StringIO(), err=err)
    assert code == 2
    assert err.getvalue().count("\n") == 1
    assert _lines_problems(err.getvalue()) == []
