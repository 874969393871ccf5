"""Verdicts: facts (what the probe and discovery saw) -> ``Finding`` objects.

The only package that knows CloudFront's consequences. No I/O. One module per kind of check
(``path``, ``validity``, ``hostname``, ``keys``, ``signatures``, ``crosscheck``), composed by
``chain.judge_chain``; ``target.judge_probe`` judges a whole target, ``bundle.judge_bundle`` a
PEM bundle offline. Every finding is made by ``findings.finding``.

The x509 facts and the presentation helpers the tests and callers know from here are
re-exported so ``from origin_auditor.judge import ...`` keeps working.
"""

from ..present.certs import UNPARSEABLE, summarize_cert
from ..present.reproduce import openssl_command
from ..x509.chain import ChainAnalysis, SentCert, analyze_chain, parse_chain
from ..x509.names import dns_name_matches
from ..x509.signature import directly_issued_by
from ..x509.verify import VerifierReason, verifier_reason
from .bundle import judge_bundle
from .chain import judge_chain
from .findings import finding
from .target import accepted_origin_domain, judge_probe

__all__ = [
    "UNPARSEABLE", "ChainAnalysis", "SentCert", "VerifierReason", "accepted_origin_domain",
    "analyze_chain", "directly_issued_by", "dns_name_matches", "finding", "judge_bundle",
    "judge_chain", "judge_probe", "openssl_command", "parse_chain", "summarize_cert",
    "verifier_reason",
]
