"""The lab: a test PKI, loopback TLS and hostile servers, and ``origin-auditor demo``.

For tests, the benchmarks and the demo only. It imports the runtime package (``origin_auditor``);
the runtime package never imports it (import-linter checks this), so the Lambda artifact, built
from ``functions/origin_auditor`` alone, has nothing here to leave out. Its extra dependency
(moto, for the demo's embedded AWS) comes with the ``demo`` and ``dev`` extras.
"""
