"""The one finding factory: every ``Finding`` the auditor emits is made here.

The rule table (``rules.CODES``) gives each code its usual severity and fix; a caller overrides
either only where the situation differs (a size that only our own cap refused is a warning, a
hint that carries the reproduce line).
"""

from __future__ import annotations

from ..model import Finding, Severity
from ..rules import CODES, Code


def finding(code: Code, message: str, address: str | None = None, *, hint: str | None = None,
            severity: Severity | None = None) -> Finding:
    """A finding with the severity and fix from the rule table unless overridden."""
    info = CODES[code]
    return Finding(code=code, severity=severity or Severity(info.severity), message=message,
                   hint=info.fix if hint is None else hint, address=address)
