"""What to tell people, and telling them: change detection against the state table (pure), the
SNS message (pure), and the publish (the one I/O here).

One message per run, about what changed since the last *successful* publish:

* ``new``: a target that passed (or was never seen) now warns or fails;
* ``escalated``: warn -> fail, LATENT -> OUTAGE, or a new warn/fail finding code appeared;
* ``reminder``: still failing, and the last message naming it is ``reminder_hours`` old;
* ``improved`` (fail -> warn), ``resolved`` (now passes), ``removed`` (no distribution uses it
  any more; whole-account runs only);
* ``digest``: optional daily list of everything not passing, sent only when nothing else was;
* ``partial``: the run's blind spot (what discovery could not see, ``present.partial``), told
  when some of it is new since coverage was last complete; ``coverage_restored``: a complete
  whole-account run after a blind spot was told. Remembered in the meta item ``COVERAGE_KEY``.

Targets the run did not get to probe (``ORIGIN_NOT_PROBED``) keep their previous state: running
out of time is not a resolution.

Filtering. SNS documents that message attributes are *delivered* only with String message
structure and does not document attribute filter policies for ``MessageStructure=json``, which
the per-protocol payloads below need. So the published JSON body also carries ``severity``,
``classification``, ``classifications``, ``event`` and ``codes`` beside the protocols (SNS
ignores keys that are not protocols when delivering), and the README's recipes filter with
``FilterPolicyScope: MessageBody`` (tested on moto). The attributes of the same names are still
set; subscribers that need the values in hand read them from the ``sqs``/``lambda`` JSON
(``notification`` key).
"""

from .changes import (
    COVERAGE_KEY,
    DIGEST_KEY,
    FAIL_LABEL,
    LABEL_ORDER,
    LABEL_RANK,
    Change,
    ChangeKind,
    Plan,
    coverage_key,
    plan_changes,
    target_label,
)
from .message import MAX_MESSAGE_BYTES, Message, build_message
from .org import AccountOutcome, OrgSummary
from .publish import PublishFailed, publish, publish_report
from .words import SUBJECT_MAX

__all__ = [
    "COVERAGE_KEY",
    "DIGEST_KEY",
    "FAIL_LABEL",
    "LABEL_ORDER",
    "LABEL_RANK",
    "MAX_MESSAGE_BYTES",
    "SUBJECT_MAX",
    "AccountOutcome",
    "Change",
    "ChangeKind",
    "Message",
    "OrgSummary",
    "Plan",
    "PublishFailed",
    "build_message",
    "coverage_key",
    "plan_changes",
    "publish",
    "publish_report",
    "target_label",
]
