"""Verdicts: facts (what the probe and discovery saw) -> ``Finding`` objects.

The only package that knows CloudFront's consequences. No I/O.
"""

from ..present.certs import UNPARSEABLE, summarize_cert
from ..present.reproduce import openssl_command
from .core import (
    ChainAnalysis,
    SentCert,
    VerifierReason,
    accepted_origin_domain,
    analyze_chain,
    directly_issued_by,
    dns_name_matches,
    judge_chain,
    judge_probe,
    parse_chain,
    verifier_reason,
)
from .findings import finding

__all__ = [
    "UNPARSEABLE", "ChainAnalysis", "SentCert", "VerifierReason", "accepted_origin_domain",
    "analyze_chain", "directly_issued_by", "dns_name_matches", "finding", "judge_chain",
    "judge_probe", "openssl_command", "parse_chain", "summarize_cert", "verifier_reason",
]
