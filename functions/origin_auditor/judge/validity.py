"""Findings about dates: expired, not yet valid, expiring soon, for every certificate sent."""

from __future__ import annotations

import datetime as dt

from ..model import Finding
from ..rules import EXPIRY_URGENT_DAYS, Code
from ..x509.chain import ChainAnalysis
from .findings import finding
from .wording import fmt_time, role


def utc(when: dt.datetime) -> dt.datetime:
    """``when`` in UTC; a naive moment is taken to be UTC already."""
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def validity_findings(a: ChainAnalysis, at: dt.datetime, warn_days: int,
                      address: str | None) -> list[Finding]:
    """Each distinct certificate's dates against ``at`` (UTC): CloudFront rejects an expired
    intermediate as surely as an expired leaf."""
    out: list[Finding] = []
    for s in a.distinct():
        try:
            nb, na = s.cert.not_valid_before_utc, s.cert.not_valid_after_utc
        except Exception:  # unparseable time fields
            out.append(finding(Code.CERT_MALFORMED,
                               f"The validity dates of the {role(s, a)} do not parse; CloudFront "
                               "treats it as an invalid certificate (502).", address))
            continue
        who = role(s, a)
        if at < nb:
            out.append(finding(
                Code.CERT_NOT_YET_VALID,
                f"The {who} is not valid before {fmt_time(nb)}; CloudFront rejects it as invalid "
                "and drops the connection (502).", address))
        if at > na:
            out.append(finding(
                Code.CERT_EXPIRED,
                f"The {who} expired on {fmt_time(na)}; CloudFront rejects expired certificates, "
                "leaf or intermediate, and drops the connection (502).", address,
                hint="Renew it and deploy the full chain" + (
                    "; an expired intermediate usually means the bundle is stale: fetch the CA's "
                    "current intermediate." if a.leaf is not None and not a.is_leaf(s)
                    else ".")))
        elif at >= nb:
            left = na - at
            if left <= dt.timedelta(days=warn_days):
                days = left.days
                urgent = left <= dt.timedelta(days=EXPIRY_URGENT_DAYS)
                out.append(finding(
                    Code.CERT_EXPIRING_SOON,
                    f"{'URGENT: ' if urgent else ''}The {who} expires on {fmt_time(na)} "
                    f"(in {days} day{'s' if days != 1 else ''}). When it does, CloudFront drops every "
                    "connection to this origin (502) - and cached objects hide it until they expire.",
                    address))
    return out
