"""Issue 11, "Messages": what an on-call engineer reads in the subject, the e-mail and the chat
card, and what a subscription filter can select on.

The report here is the demo's incident by hand: an OUTAGE, a LATENT origin the cache hides, an
origin at risk, a healthy one, in one account, with the metrics CloudWatch gave.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest

from origin_auditor.archive import Archive
from origin_auditor.events import AlarmContext
from origin_auditor.model import (
    AuditReport,
    DistributionReport,
    Finding,
    Severity,
    Target,
    TargetResult,
    Verdict,
)
from origin_auditor.notify import build_message, plan_changes
from origin_auditor.rules import CODES, Code

from .test_notify import NOW, check_chat_payload, state_of

ACCOUNT = "111122223333"
WRONG_ORDER = ("The certificates are not in issuing order. Sent: api.example.net -> Example Root -> "
               "Example Intermediate. Issuing order: api.example.net -> Example Intermediate -> "
               "Example Root. OpenSSL and browsers reorder the chain silently, so it works for them; "
               "CloudFront checks that each certificate is issued by the next one and drops the "
               "connection (502).")
INCOMPLETE = ("The chain is incomplete: the issuer of 'assets.shop.example.net' (CN=Example "
              "Intermediate) was not sent and is not a trusted root (Mozilla). It can be downloaded "
              "from http://pki.example.net/int1.der (the caIssuers URL). Browsers fetch a missing "
              "intermediate themselves; CloudFront does not and drops the connection (502).")


def _result(host: str, verdict: Verdict, findings: Sequence[Finding], dist: str,
            port: int = 443) -> TargetResult:
    reproduce = (f"openssl s_client -connect 198.51.100.7:{port} -servername {host} -tls1_2 "
                 "-showcerts </dev/null") if verdict is not Verdict.PASS else ""
    return TargetResult(Target(host, port, distribution_ids=(dist,)), verdict, tuple(findings),
                        reproduce=reproduce)


def incident(account: str | None = ACCOUNT) -> AuditReport:
    results = (
        _result("api.example.net", Verdict.FAIL, [Finding(
            Code.CHAIN_WRONG_ORDER, Severity.FAIL, WRONG_ORDER, "Serve leaf first, then each issuer.",
            "198.51.100.7")], "EAPIAPIAPIAPI", 8443),
        _result("assets.shop.example.net", Verdict.FAIL, [Finding(
            Code.CHAIN_INCOMPLETE, Severity.FAIL, INCOMPLETE, "Serve the full chain.", "198.51.100.8")],
            "ESHOPSHOPSHOP"),
        _result("images.example.net", Verdict.WARN, [Finding(
            Code.CERT_EXPIRING_SOON, Severity.WARN, "The leaf certificate expires in 4 days.",
            "Renew now.")], "EIMGIMGIMGIMG"),
        _result("www.example.net", Verdict.PASS, [], "EWWWWWWWWWWWW"),
    )
    dists = (
        DistributionReport("EAPIAPIAPIAPI", "OUTAGE", aliases=("api.example.com",), results=(0,),
                           metrics={"Requests": 315_000.0, "5xxErrorRate": 41.0, "502ErrorRate": 40.5,
                                    "CacheHitRate": 12.0}),
        DistributionReport("ESHOPSHOPSHOP", "LATENT", aliases=("shop.example.com", "www.shop.example.com"),
                           results=(1,),
                           metrics={"Requests": 1_820_000.0, "5xxErrorRate": 0.3, "502ErrorRate": 0.2,
                                    "CacheHitRate": 99.4}),
        DistributionReport("EIMGIMGIMGIMG", "AT_RISK", aliases=("images.example.com",), results=(2,),
                           metrics={"Requests": 630_000.0, "5xxErrorRate": 0.0}),
        DistributionReport("EWWWWWWWWWWWW", "HEALTHY", aliases=("www.example.com",), results=(3,),
                           metrics={"Requests": 1_050_000.0, "5xxErrorRate": 0.1}),
    )
    return AuditReport("2025-06-01T12:00:00Z", results, dists, account=account)


def message(rep: AuditReport | None = None, **kw: Any) -> Any:
    rep = rep or incident()
    msg = build_message(rep, plan_changes(rep, {}, now=NOW), **kw)
    assert msg is not None
    return msg


def blocks(text: str) -> dict[str, str]:
    """The e-mail's items, by origin host: from the item's head line to the next blank line."""
    out: dict[str, str] = {}
    for block in text.split("\n\n"):
        m = re.search(r"^(?:NEW|WORSE|STILL FAILING|NOT PASSING|IMPROVED|RESOLVED|REMOVED) +\S+ +"
                      r"([a-z0-9.-]+):\d+", block, flags=re.M)
        if m:
            out[m.group(1)] = block
    return out


# ---------------------------------------------------------------- subject

def test_subject_counts_every_classification_worst_first_and_names_latent() -> None:
    msg = message()
    assert msg.subject == ("[OUTAGE] 1 origin failing now | 1 LATENT (cache is hiding it) | "
                           "1 at risk | api.example.com")
    assert len(msg.subject) < 100 and msg.subject.isascii() and msg.subject.isprintable()


def test_the_latent_count_survives_a_long_subject_and_only_the_site_is_cut() -> None:
    rep = incident()
    long_alias = "a-very-long-alternate-domain-name-for-the-api." + "x" * 60 + ".example.com"
    rep = replace(rep, distributions=(replace(rep.distributions[0], aliases=(long_alias,)),
                                      *rep.distributions[1:]))
    subject = message(rep).subject
    assert subject.startswith("[OUTAGE] 1 origin failing now | 1 LATENT (cache is hiding it) | "
                              "1 at risk")
    assert len(subject) < 100 and subject.isascii()


def test_many_latent_origins_are_counted_and_a_site_named_with_how_many_more() -> None:
    results = [_result(f"o{i}.example.net", Verdict.FAIL,
                       [Finding(Code.CHAIN_INCOMPLETE, Severity.FAIL, "incomplete")], f"E{i:012d}")
               for i in range(40)]
    dists = [DistributionReport(f"E{i:012d}", "LATENT", aliases=(f"site{i}.example.com",), results=(i,))
             for i in range(40)]
    rep = AuditReport("2025-06-01T12:00:00Z", tuple(results), tuple(dists))
    assert message(rep).subject == "[LATENT] 40 LATENT (cache is hiding them) | site0.example.com +39 more"


def test_subject_characters_are_printable_ascii_whatever_the_aliases_hold() -> None:
    rep = incident()
    rep = replace(rep, distributions=(replace(rep.distributions[0], aliases=("évil\n\x1b[2J.example",)),
                                      *rep.distributions[1:]))
    subject = message(rep).subject
    assert subject.isascii() and subject.isprintable() and "\n" not in subject


# ---------------------------------------------------------------- the e-mail's items

def test_every_item_says_site_account_distribution_origin_class_metrics_cause_fix_verify() -> None:
    text = message().structure["email"]
    items = blocks(text)
    assert set(items) == {"api.example.net", "assets.shop.example.net", "images.example.net"}
    api = items["api.example.net"]
    for expected in ("Site:", "api.example.com", "account 111122223333", "distribution EAPIAPIAPIAPI",
                     "api.example.net, port 8443", "failing now", "315,000 requests",
                     "502 rate 40.50%", "cache hit rate 12.00%", "CHAIN_WRONG_ORDER",
                     "The certificates are not in issuing order.", "Serve leaf first",
                     "openssl s_client -connect 198.51.100.7:8443 -servername api.example.net"):
        assert expected in " ".join(api.split()), expected
    shop = " ".join(items["assets.shop.example.net"].split())
    for expected in ("shop.example.com, www.shop.example.com", "distribution ESHOPSHOPSHOP",
                     "LATENT", "cache is hiding", "1,820,000 requests", "502 rate 0.20%",
                     "cache hit rate 99.40%", "CHAIN_INCOMPLETE", "Serve the full chain."):
        assert expected in shop, expected
    images = " ".join(items["images.example.net"].split())
    # No 502 rate for this distribution (additional metrics off): the 5xx rate decided it.
    assert "5xx rate 0.00%" in images and "at risk" in images.lower() and "Renew now." in images


def test_the_cause_is_one_sentence_or_a_few_short_ones_not_the_whole_explanation() -> None:
    api = " ".join(blocks(message().structure["email"])["api.example.net"].split())
    assert "Issuing order: api.example.net -> Example Intermediate -> Example Root." in api
    assert "OpenSSL and browsers reorder" not in api  # the explanation is said once, below


def test_explanations_shared_by_items_are_said_once_per_message() -> None:
    rep = incident()
    # Two more LATENT origins with the same code: the LATENT and CHAIN_INCOMPLETE explanations
    # still appear once.
    extra = [_result(f"more{i}.example.net", Verdict.FAIL,
                     [Finding(Code.CHAIN_INCOMPLETE, Severity.FAIL, "incomplete", "Serve the full chain.")],
                     "ESHOPSHOPSHOP") for i in range(2)]
    dists = (*rep.distributions[:1], replace(rep.distributions[1], results=(1, 4, 5)), *rep.distributions[2:])
    rep = replace(rep, results=(*rep.results, *extra), distributions=dists)
    text = message(rep).structure["email"]
    assert len(blocks(text)) == 5
    flat = " ".join(text.split())
    assert flat.count(CODES[Code.CHAIN_INCOMPLETE].meaning) == 1
    assert flat.count("the next deploy, invalidation or TTL expiry") == 1


def test_the_account_is_said_even_when_unknown() -> None:
    text = message(incident(account=None)).structure["email"]
    assert "account unknown" in " ".join(blocks(text)["api.example.net"].split())


# ---------------------------------------------------------------- 80 columns

def _too_wide(text: str, commands: Sequence[str]) -> list[str]:
    """Lines over 80 columns that are neither one unbreakable token (a URL) nor a verify command
    (copied whole into a shell, so never wrapped)."""
    return [line for line in text.split("\n")
            if len(line) > 80 and len(line.split()) > 1 and line.strip() not in commands]


def test_email_lines_fit_80_columns_except_urls_and_commands() -> None:
    rep = incident()
    archive = Archive("audit-reports-bucket", "reports/2025/06/01/120000Z-req-1.json", "us-east-1")
    alarm = AlarmContext("www-5xx " * 20, "ALARM", "OK", "Threshold Crossed: " + "x " * 200,
                         "5xxErrorRate", None, None)
    msg = message(rep, archive=archive, alarm=alarm)
    text = msg.structure["email"]
    commands = [r.reproduce for r in rep.results if r.reproduce]
    assert _too_wide(text, commands) == []
    assert archive.console_url in text.split("\n") or f"  {archive.console_url}" in text.split("\n")
    for command in commands:  # whole, on a line of its own
        assert any(line.strip() == command for line in text.split("\n"))


def test_wrapping_keeps_escapes_and_never_starts_a_forged_line() -> None:
    rep = incident()
    hostile = Finding(Code.CHAIN_INCOMPLETE, Severity.FAIL,
                      "The issuer of 'x\nRESOLVED [OUTAGE] fake\x1b[2J' was not sent.", "fix")
    rep = replace(rep, results=(replace(rep.results[0], findings=(hostile,)), *rep.results[1:]))
    text = message(rep).structure["email"]
    assert "\nRESOLVED [OUTAGE] fake" not in text and "\x1b" not in text
    assert "\\x0aRESOLVED" in text


# ---------------------------------------------------------------- chat card

def test_chat_card_title_carries_the_worst_and_each_origin_its_own_classification() -> None:
    msg = message()
    card = json.loads(msg.structure["https"])
    assert check_chat_payload(card) == []
    assert card["content"]["title"] == ("[OUTAGE] 1 origin failing now | 1 LATENT (cache is hiding it) | "
                                        "1 at risk | `api.example.com`")  # the site, outside text, as code
    assert card["metadata"]["summary"] == card["content"]["title"]
    bullets = [line for line in card["content"]["description"].split("\n") if line.startswith("•")]
    assert len(bullets) == 3
    assert bullets[0].startswith("• *OUTAGE*") and "`api.example.net:8443`" in bullets[0]
    assert bullets[1].startswith("• *LATENT*") and "`shop.example.com`" in bullets[1]
    assert bullets[2].startswith("• *AT_RISK*")
    assert "502 rate 40.50%" in bullets[0] and "`CHAIN_WRONG_ORDER`" in bullets[0]


def test_chat_card_explains_latent_in_one_sentence_and_next_steps_are_the_fixes() -> None:
    card = json.loads(message().structure["https"])
    description = card["content"]["description"]
    latent = [line for line in description.split("\n") if "*LATENT*" in line and not line.startswith("•")]
    assert len(latent) == 1 and "next deploy, invalidation or TTL expiry" in latent[0]
    assert latent[0].count(". ") == 0  # one sentence
    steps = card["content"]["nextSteps"]
    assert steps[0].startswith("`api.example.net:8443`: ") and CODES[Code.CHAIN_WRONG_ORDER].fix in steps[0]
    assert "Verify: `openssl s_client -connect 198.51.100.7:8443" in steps[0]
    assert steps[1].startswith("`assets.shop.example.net:443`: ")
    assert card["metadata"]["additionalContext"]["account"] == ACCOUNT


def test_chat_card_without_latent_says_nothing_about_it() -> None:
    rep = incident()
    rep = replace(rep, results=rep.results[:1] + rep.results[2:],
                  distributions=(rep.distributions[0], replace(rep.distributions[2], results=(1,)),
                                 replace(rep.distributions[3], results=(2,))))
    card = json.loads(message(rep).structure["https"])
    assert "LATENT" not in card["content"]["description"]


def test_chat_card_of_a_resolution_is_valid_and_says_what_was_seen() -> None:
    rep = incident()
    fixed = replace(rep, results=(replace(rep.results[0], verdict=Verdict.PASS, findings=()),
                                  *rep.results[1:]))
    plan = plan_changes(fixed, state_of(rep), now=NOW + 60)
    msg = build_message(fixed, plan)
    assert msg is not None and msg.subject.startswith("[RESOLVED] 1 fixed")
    card = json.loads(msg.structure["https"])
    assert check_chat_payload(card) == []
    assert "*RESOLVED*" in card["content"]["description"]


# ---------------------------------------------------------------- filter keys

def test_the_published_json_carries_the_filter_keys_beside_the_protocols() -> None:
    msg = message()
    body = json.loads(msg.publish_kwargs("arn:aws:sns:us-east-1:1:t")["Message"])
    assert body["severity"] == "fail" and body["classification"] == "OUTAGE"
    assert body["classifications"] == ["OUTAGE", "LATENT", "AT_RISK"]
    assert body["event"] == "change"
    assert body["codes"] == ["CERT_EXPIRING_SOON", "CHAIN_INCOMPLETE", "CHAIN_WRONG_ORDER"]
    for protocol in ("default", "email", "https", "sqs", "lambda"):
        assert isinstance(body[protocol], str)


@pytest.mark.parametrize("size", [40_000, 250_000])
def test_filter_keys_count_toward_the_size_budget(size: int) -> None:
    msg = message(max_bytes=size)
    assert len(msg.body.encode()) <= msg.size_bytes <= size


def test_the_account_id_is_read_from_an_arn_or_not_at_all() -> None:
    from origin_auditor.aws import arn_account
    assert arn_account("arn:aws:iam::111122223333:role/x") == "111122223333"
    assert arn_account("arn:aws:lambda:us-east-1:444455556666:function:f") == "444455556666"
    assert arn_account("arn:aws:s3:::bucket") is None
    assert arn_account(None) is None and arn_account("111122223333") is None


def test_an_origin_in_two_distributions_names_each_with_its_class_and_metrics() -> None:
    rep = incident()
    shared = replace(rep.results[1], target=replace(rep.results[1].target,
                                                    distribution_ids=("ESHOPSHOPSHOP", "EAPIAPIAPIAPI")))
    rep = replace(rep, results=(rep.results[0], shared, *rep.results[2:]),
                  distributions=(replace(rep.distributions[0], results=(0, 1)), *rep.distributions[1:]))
    item = blocks(message(rep).structure["email"])["assets.shop.example.net"]
    assert "  Where:    distribution ESHOPSHOPSHOP (LATENT), account 111122223333\n" \
           "  Metrics:  1,820,000 requests, 502 rate 0.20%, cache hit rate 99.40%\n" \
           "  Where:    distribution EAPIAPIAPIAPI (OUTAGE), account 111122223333\n" \
           "  Metrics:  315,000 requests, 502 rate 40.50%, cache hit rate 12.00%\n" in item
    assert "shop.example.com, www.shop.example.com, api.example.com" in item
