"""The Amazon Q Developer in chat applications custom notification (pure; rules doc §5).

Outside values are inline code (``chat_code``) in the description and next steps, and ``chat``
in plain fields (title, keywords, metadata).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from ..assess import unaudited_summary
from ..model import Classification
from ..present.partial import partial_fixes, partial_line
from ..present.text import chat, chat_code, clip
from .changes import ACTIVE, FAIL_LABEL, ChangeKind
from .words import _KIND_HEADING, _UNAUDITED_MEANS, _code_info, _metrics

if TYPE_CHECKING:  # the shared parts of one message; message imports this module
    from .message import _Parts

_CHAT_DESCRIPTION_MAX = 3500  # chat clients truncate long cards; the email has the details
_CHAT_CHANGES_MAX = 10
_CHAT_STEPS_MAX = 5
# The chat card's one sentence on LATENT (the card has no room for the e-mail's section).
_CHAT_LATENT = ("*LATENT* means CloudFront already rejects the origin but the cache is still serving "
                "viewers: the next deploy, invalidation or TTL expiry turns it into 502s.")


def _chat(parts: _Parts) -> dict[str, object]:
    """Amazon Q Developer in chat applications custom notification (rules doc §5): the title is
    the subject (the worst classification first), one bullet per origin with its own
    classification, ``nextSteps`` the fixes with the command that verifies each."""
    report, plan, alarm, change, archive = parts.report, parts.plan, parts.alarm, parts.change, parts.archive
    bullets: list[str] = []
    for c in plan.changes[:_CHAT_CHANGES_MAX]:
        if c.kind in ACTIVE:
            bits = [f"• *{c.label or FAIL_LABEL}* ({_KIND_HEADING[c.kind].lower()}) {chat_code(c.display)}"]
        else:
            was = f" (was {c.previous_label or c.previous_verdict or '-'})"
            bits = [f"• *{_KIND_HEADING[c.kind]}* {chat_code(c.display)}{was}"]
        aliases = parts.aliases(c)
        if aliases:
            bits.append(", ".join(chat_code(a) for a in aliases[:2]) + (" …" if len(aliases) > 2 else ""))
        if c.distribution_ids:
            bits.append(", ".join(chat_code(d) for d in c.distribution_ids[:2])
                        + (" …" if len(c.distribution_ids) > 2 else ""))
            dist = parts.dists.get(c.distribution_ids[0])
            if dist is not None and c.kind in ACTIVE:
                bits.append(_metrics(dist))
        if c.codes:
            bits.append(", ".join(f"`{code}`" for code in c.codes[:4]))
        bullets.append(" · ".join(bits))
    if len(plan.changes) > _CHAT_CHANGES_MAX:
        bullets.append(f"… and {len(plan.changes) - _CHAT_CHANGES_MAX:,} more, all in the full report")
    intro = []
    if archive is not None and archive.written:
        intro.append(f"Full report: {archive.console_url}")
    elif archive is not None:
        intro.append(f"_The full report could not be archived:_ {chat_code(clip(archive.error or '?', 300))}")
    if alarm is not None and alarm.recovered:
        intro.append(f"Alarm {chat_code(alarm.name)} returned to OK: re-audited to confirm. Only origins "
                     "seen passing are resolved.")
    elif alarm is not None:
        intro.append(f"Alarm {chat_code(alarm.name)} is {chat_code(alarm.state)}.")
    if change is not None:
        actor = chat_code(change.actor or "unknown caller")
        intro.append(f"After {chat_code(change.event_name)} by {actor}.")
    if report.partial:
        intro.append(chat_code(clip(partial_line(report), 600)))
    if not plan.dedup_available:
        intro.append("_Dedup unavailable: listing every origin that is not passing._")
    if any(c.label == Classification.LATENT and c.kind in ACTIVE for c in plan.changes):
        intro.append(_CHAT_LATENT)
    if unaudited := unaudited_summary(report.results):
        intro.append(f"_{unaudited}: {_UNAUDITED_MEANS}_")
    description = "\n".join([*intro, *bullets])
    if len(description) > _CHAT_DESCRIPTION_MAX:
        description = description[: _CHAT_DESCRIPTION_MAX - 1] + "…"
    steps: list[str] = []
    fixing = [c for c in plan.changes if c.kind in ACTIVE and c.codes and c.result_index is not None]
    for c in fixing[:_CHAT_STEPS_MAX - 1 if len(fixing) > _CHAT_STEPS_MAX else _CHAT_STEPS_MAX]:
        fixes = list(dict.fromkeys(info.fix for code in c.codes if (info := _code_info(code))))
        step = f"{chat_code(c.display)}: {' '.join(fixes) or 'see the full report.'}"
        reproduce = report.results[c.result_index or 0].reproduce
        if reproduce:
            step += f" Verify: {chat_code(reproduce)}"
        steps.append(step)
    if any(c.kind is ChangeKind.PARTIAL for c in plan.changes):
        steps[:0] = [chat(fix) for fix in partial_fixes(report)]
    if len(fixing) > len(steps):
        steps.append(f"… and {len(fixing) - len(steps):,} more origins to fix: the e-mail and the full "
                     "report give each fix and its verify command.")
    dist_ids = list(dict.fromkeys(d for c in plan.changes for d in c.distribution_ids))
    keywords = list(dict.fromkeys([parts.lead_word, parts.severity,
                                   *(code for c in plan.changes for code in c.codes)]))[:10]
    ident = hashlib.sha256(f"{report.generated_at}|{parts.subject}".encode()).hexdigest()[:32]
    context = {"classification": parts.lead_word}
    if report.account:
        context["account"] = chat(report.account)
    return {
        "version": "1.0",
        "source": "custom",
        "id": ident,
        "content": {
            "textType": "client-markdown",
            "title": parts.title,
            "description": description,
            "nextSteps": steps or ["No action needed."],
            "keywords": [chat(k) for k in keywords],
        },
        "metadata": {
            "threadId": chat("origin-auditor-" + ("-".join(dist_ids[:3]) or "account")),
            "summary": parts.title,
            "eventType": f"OriginAuditor{parts.lead_word.title().replace('_', '')}",
            "relatedResources": [chat(r) for r in dist_ids[:10] or [c.display for c in plan.changes[:10]]],
            "additionalContext": context,
        },
    }
