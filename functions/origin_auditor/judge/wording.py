"""How findings name certificates and moments: shared by every check so they read alike."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.x509.oid import NameOID

from ..present.certs import UNPARSEABLE
from ..present.text import clean
from ..x509.chain import ChainAnalysis, SentCert
from ..x509.signature import self_signed


def cn(cert: x509.Certificate) -> str:
    """The certificate's common name (or its whole subject when it has none), for messages."""
    try:
        cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        if cns:
            value = cns[0].value
            return clean(value if isinstance(value, str) else value.decode("utf-8", "replace"))
        return clean(cert.subject.rfc4514_string()) or "<empty subject>"
    except Exception:  # a malformed name must not stop the judge
        return UNPARSEABLE


def role(s: SentCert, a: ChainAnalysis) -> str:
    """``leaf certificate 'x'``, ``root certificate 'x' (#3 sent)`` or ``intermediate ...``."""
    if a.is_leaf(s):
        return f"leaf certificate '{cn(s.cert)}'"
    if self_signed(s.cert):
        return f"root certificate '{cn(s.cert)}' (#{s.position + 1} sent)"
    return f"intermediate '{cn(s.cert)}' (#{s.position + 1} sent)"


def fmt_time(when: dt.datetime) -> str:
    """A certificate date as messages show it."""
    return when.strftime("%Y-%m-%d %H:%M UTC")
