"""Text from untrusted sources made safe for each channel a report goes to.

Certificate subjects, SAN entries, alert texts and the bytes a non-TLS port answered with are
chosen by whoever controls the origin: control characters could forge report lines or move a
terminal's cursor, markup could turn a certificate name into a link in chat, and a 10 kB CN
would drown a message. Everything such text passes through on its way out is in this module,
one function per channel:

* ``clean``: terminal and plain-text reports: one line, non-printables escaped, length-capped.
* ``markdown``: chat and pull-request comments: markup escaped, one line.
* ``email_subject`` / ``clip``: e-mail (SNS): a subject in printable ASCII; bounded body lines.
* ``quote_bytes``: raw bytes a non-TLS port answered with, quoted in a message.
"""

from __future__ import annotations

import re


def clean(text: str, limit: int = 80) -> str:
    """Text from a certificate made safe for one line of a report.

    Subjects are chosen by whoever made the certificate: control characters (newlines, ANSI
    escapes) could forge report lines, and a 10 kB CN would drown the message.
    """
    out = "".join(ch if ch.isprintable() else escape_char(ch) for ch in text[: limit * 4])
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


def quote_bytes(raw: bytes, limit: int = 40) -> str:
    """At most ``limit`` bytes of ``raw`` as text, non-printables escaped, for quoting in a message."""
    text = raw[:limit].decode("latin-1")
    escapes = {"\r": "\\r", "\n": "\\n", "\t": "\\t", "'": "\\'", "\\": "\\\\"}
    out = "".join(escapes.get(ch) or (ch if 32 <= ord(ch) < 127 else f"\\x{ord(ch):02x}")
                  for ch in text)
    return out + ("…" if len(raw) > limit else "")


# Markdown syntax characters. Messages quote certificate names, which the origin's owner (or an
# attacker) chooses: escaped, a name like "[Fix now](https://evil.example)" stays text instead of
# becoming a link in a chat message or pull-request comment.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#!|~])")


def markdown(text: str) -> str:
    """Text for markdown (chat, pull-request comments): markup characters backslash-escaped and
    line breaks made spaces, so it stays one table cell or bullet and never becomes a link."""
    return _MD_SPECIAL.sub(r"\\\1", text.replace("\r", " ").replace("\n", " "))


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
