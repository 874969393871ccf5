"""The lab: a test PKI, loopback TLS and hostile servers, and ``origin-auditor demo``.

For tests, the benchmarks and the demo only. It imports the runtime package (``origin_auditor``);
the runtime package never imports it (import-linter checks this), so the Lambda artifact, built
from ``functions/origin_auditor`` alone, has nothing here to leave out. Its extra dependency
(moto, for the demo's embedded AWS) comes with the ``demo`` and ``dev`` extras.
"""

from origin_auditor.options import ALLOW_ADDRESSES

LOOPBACK_CIDRS = "127.0.0.0/8,::1/128"
"""The ranges the lab's servers bind. The probe never connects to loopback answers unless told
to (issue 9 §4): the demo, the tests and the benchmarks open exactly these, explicitly."""

LOOPBACK = ALLOW_ADDRESSES.from_text(LOOPBACK_CIDRS)
"""``LOOPBACK_CIDRS`` parsed, as ``probe_targets(allow=...)`` and ``AuditOptions`` take it."""
