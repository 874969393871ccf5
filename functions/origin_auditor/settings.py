"""The Lambda's configuration: its environment, read and checked once per invocation.

Every variable is listed in ``handler``'s docstring; a bad value is a ``ConfigError`` before
anything is audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from . import archive as archive_mod
from .options import ALLOW_ADDRESSES, FETCH_ISSUERS, Networks, OptionError


class ConfigError(ValueError):
    """The function's environment is wrong (e.g. notify requested without a topic)."""


@dataclass(frozen=True)
class Settings:
    """The function's configuration from its environment (see the module docstring).

    topic_arn / table_name / reports_bucket: None when unset. reminder_hours: > 0.
    daily_digest: bool. role_arn: default role to assume, None for the function's own account.
    allow_addresses: ranges probed although CloudFront cannot reach them (``options.ALLOW_ADDRESSES``).
    fetch_issuers: fetch missing issuers through caIssuers URLs to diagnose (``options.FETCH_ISSUERS``).
    """

    topic_arn: str | None
    table_name: str | None
    reminder_hours: float = 24.0
    daily_digest: bool = False
    role_arn: str | None = None
    reports_bucket: str | None = None
    allow_addresses: Networks = ()
    fetch_issuers: bool = FETCH_ISSUERS.default

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        problems: list[str] = []
        hours = reminder_hours(env, problems)
        digest_raw = (env.get("DAILY_DIGEST") or "false").strip().lower()
        if digest_raw not in ("true", "false", "1", "0", "yes", "no"):
            problems.append(f"DAILY_DIGEST must be true or false, got {digest_raw!r}")
        allow, fetch = probing(env, problems)
        if problems:
            raise ConfigError("invalid environment: " + "; ".join(problems))
        return cls(topic_arn=env.get("FINDINGS_TOPIC_ARN") or None,
                   table_name=env.get("STATE_TABLE_NAME") or None,
                   reminder_hours=hours, daily_digest=digest_raw in ("true", "1", "yes"),
                   role_arn=env.get("AUDIT_ROLE_ARN") or None,
                   reports_bucket=env.get(archive_mod.BUCKET_ENV) or None,
                   allow_addresses=allow, fetch_issuers=fetch)


def reminder_hours(env: Mapping[str, str], problems: list[str]) -> float:
    """REMINDER_HOURS (default 24), shared by the single-account and organization functions; a
    bad value is added to ``problems`` (and 24 used, so every problem is reported at once)."""
    raw = env.get("REMINDER_HOURS") or "24"
    try:
        hours = float(raw)
        if not 0 < hours <= 24 * 365:
            raise ValueError
    except ValueError:
        problems.append(f"REMINDER_HOURS must be a number of hours > 0, got {raw!r}")
        return 24.0
    return hours


def probing(env: Mapping[str, str], problems: list[str]) -> tuple[Networks, bool]:
    """(ORIGIN_AUDITOR_ALLOW_ADDRESSES, ORIGIN_AUDITOR_FETCH): how a function probes, the same
    for every function that audits; bad values are added to ``problems``."""
    allow: Networks = ()
    try:
        allow = ALLOW_ADDRESSES.from_env(env)
    except OptionError as e:
        problems.append(str(e))
    fetch = FETCH_ISSUERS.default
    try:
        fetch = FETCH_ISSUERS.from_env(env)
    except OptionError as e:
        problems.append(str(e))
    return allow, fetch
