"""Text from untrusted sources made safe for each channel a report goes to.

Certificate subjects, SAN entries, alert texts, alarm names and reasons, CloudTrail actors,
origin and distribution names, AWS error texts and the bytes a non-TLS port answered with are
chosen by someone else: control characters could forge report lines or move a terminal's
cursor (ESC/CSI, C1, a bidi override that shows ``moc.elpmaxe`` as ``example.com``), markup
could turn a certificate name into a link or an ``@channel`` in chat, and a 10 kB CN would drown
a message. Everything such text passes through on its way out is in this module, one function
per channel:

* ``terminal``: terminal, plain-text reports, e-mail body lines, CLI messages: every character
  that is not printable (controls, C1, line and paragraph separators, bidi and zero-width
  format characters) escaped by code point, so the text stays on one line and shows what it is.
  ``clean`` is the same, length-capped, for certificate text quoted inside findings.
* ``markdown`` / ``markdown_code``: CommonMark/GitHub (the markdown report, pull-request
  comments): prose with every markup character backslash-escaped and ``@`` made ``＠`` (no
  mention); or an inline code span, in which nothing is markup.
* ``chat`` / ``chat_code``: Amazon Q Developer in chat applications (``client-markdown``: Slack
  mrkdwn, Teams markdown). Slack has no backslash escape, so outside text goes into inline code
  spans (``chat_code``: literal in Slack, Teams and CommonMark alike) with backticks made ``'``;
  ``&``, ``<``, ``>`` become entities everywhere (Slack's own escaping: no ``<!channel>``,
  ``<@U…>`` or ``<url|label>`` survives), and ``@here``/``@channel``/``@everyone`` are broken.
  ``chat`` is for plain fields (title, keywords, metadata): entities and ``＠``.
* ``email_line`` / ``email_subject``: e-mail (SNS): body lines as ``terminal``, bounded; a
  subject in printable ASCII.
* ``html_text``: the HTML report (``report_html``): ``terminal`` then ``html.escape`` (``&<>"'``
  as entities), for element text and quoted attribute values alike: never markup, one line.

Escaping is idempotent where it matters: text already ``clean``-ed (findings quote certificate
names that way) contains only printable characters, so the channel's pass changes only markup.
"""

from __future__ import annotations

import html
import re


def terminal(text: str) -> str:
    """``text`` on one line with every non-printable character escaped by code point.

    ``str.isprintable`` is False for Cc (C0 incl. ESC, DEL, C1 incl. the 8-bit CSI), Cf (bidi
    overrides and isolates, zero-width characters), Zl/Zp (U+2028/U+2029) and unassigned code
    points, so none reaches a terminal, a mail reader or a log line as itself.
    """
    return "".join(ch if ch.isprintable() else escape_char(ch) for ch in text)


def html_text(text: str) -> str:
    """Outside text for the HTML report: one line (``terminal``: a control character shows as
    its escape, never as a line break or a bidi override) with ``&<>"'`` as entities
    (``html.escape``), so it is never markup, in element text or in a quoted attribute value."""
    return html.escape(terminal(text), quote=True)


def clean(text: str, limit: int = 80) -> str:
    """Text from a certificate made safe for one line of a report: ``terminal``, length-capped.

    Subjects are chosen by whoever made the certificate: control characters (newlines, ANSI
    escapes) could forge report lines, and a 10 kB CN would drown the message.
    """
    out = terminal(text[: limit * 4])
    return out if len(out) <= limit else out[: limit - 1] + "…"


def escape_char(ch: str) -> str:
    """Python's escape for one character: the width follows the code point, so U+202E reads
    ``\\u202e`` and never ``\\x20`` followed by a literal "2e"."""
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"



# Markdown syntax characters (CommonMark's escapable punctuation that can start markup, with
# "&" for entities). Messages quote certificate names, which the origin's owner (or an
# attacker) chooses: escaped, a name like "[Fix now](https://evil.example)" stays text instead of
# becoming a link in a pull-request comment.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#!|~&])")
# "@name" mentions a user or team on GitHub and in chat clients. The fullwidth at sign reads the
# same to a person and mentions nobody.
_AT = "\uff20"
# Slack's broadcast mentions when a client turns plain "@here" into one (Teams and Amazon Q
# formatting are not documented to); inside a code span only these are broken, so an
# "openssl ... @SECLEVEL=0" line stays copy-pasteable.
_BROADCAST = re.compile(r"@(?=(?:here|channel|everyone)\b)", re.IGNORECASE)


def markdown(text: str) -> str:
    """Outside text as markdown prose (report, pull-request comments): one line (``terminal``),
    every markup character backslash-escaped, ``@`` made ``＠``: it stays one table cell or
    bullet, and never becomes a link, an image, HTML, emphasis or a mention."""
    return _MD_SPECIAL.sub(r"\\\1", terminal(text)).replace("@", _AT)


def markdown_code(text: str) -> str:
    """Outside text as a markdown inline code span: nothing inside is markup; a backtick, which
    would end the span early, becomes ``'``; ``@here``/``@channel``/``@everyone`` are broken
    (a markdown report pasted into chat)."""
    return f"`{_BROADCAST.sub(_AT, terminal(text).replace('`', chr(39))) or '-'}`"


def _slack_entities(text: str) -> str:
    # Slack's documented escaping: these three, and nothing else, are control characters of
    # its message format; the client shows the entities as the characters.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def chat(text: str) -> str:
    """Outside text for a plain chat field (title, keywords, metadata): one line, ``&<>`` as
    entities (no ``<!channel>``, ``<@U…>``, ``<url|label>``), ``@`` made ``＠``."""
    return _slack_entities(terminal(text)).replace("@", _AT)


def chat_code(text: str) -> str:
    """Outside text inside a chat message's prose, as an inline code span: literal in Slack
    mrkdwn, Teams markdown and CommonMark alike (Slack has no backslash escape). A backtick
    becomes ``'``, ``&<>`` entities, and ``@here``/``@channel``/``@everyone`` are broken."""
    inner = _BROADCAST.sub(_AT, _slack_entities(terminal(text).replace("`", "'")))
    return f"`{inner or '-'}`"


def email_line(text: str, limit: int = 600) -> str:
    """One line of an e-mail body: ``terminal`` (a newline in outside text never starts a line
    of its own), at most ``limit`` characters."""
    return clip(terminal(text), limit)


def clip(text: str, limit: int = 600) -> str:
    """At most ``limit`` characters of a plain-text (e-mail) line, ``...`` marking a cut.

    A hostile origin controls certificate names that end up in messages: each line is bounded.
    """
    return text if len(text) <= limit else text[: limit - 3] + "..."


def email_subject(text: str, limit: int) -> str:
    """An e-mail subject line: printable ASCII only, whitespace runs collapsed, at most
    ``limit`` characters (``...`` marking a cut). SNS rejects non-ASCII, control characters
    and line breaks in Subject."""
    out = "".join(ch if 32 <= ord(ch) < 127 else " " for ch in text)
    out = " ".join(out.split())
    return out if len(out) <= limit else out[: limit - 3] + "..."
