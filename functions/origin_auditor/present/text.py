"""Text from untrusted sources made safe for each channel a report goes to.

Certificate subjects, SAN entries, alert texts and the bytes a non-TLS port answered with are
chosen by whoever controls the origin: control characters could forge report lines or move a
terminal's cursor, markup could turn a certificate name into a link in chat, and a 10 kB CN
would drown a message. Everything such text passes through on its way out is in this module.
"""

from __future__ import annotations


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
