"""Organization mode's environment, read and checked once per invocation (contract: issue 12).

REPORTS_BUCKET_NAME   the reports bucket: run files under ``org-runs/<run_id>/``, reports under
                      ``reports/`` (required)
MEMBER_ROLE_NAME      the role assumed in each member account (default ``origin-auditor-member``)
TABLE_NAME            the state table (aggregate; without it: no dedup, nothing written)
TOPIC_ARN             the SNS topic (aggregate; without it nothing is published, the report
                      says so)
REMINDER_HOURS        as the single-account function's (default 24)
ORIGIN_AUDITOR_ALLOW_ADDRESSES  a lab's address ranges (tests and demo only)
ORIGIN_AUDITOR_FETCH  fetch missing issuers to diagnose (default on), as the single-account function
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .. import archive as archive_mod
from ..options import FETCH_ISSUERS, Networks
from ..settings import ConfigError, probing, reminder_hours

DEFAULT_MEMBER_ROLE = "origin-auditor-member"
# IAM role names: 1-64 of these characters (IAM's CreateRole); a path is not part of the name.
_ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}")


@dataclass(frozen=True)
class OrgSettings:
    """The organization functions' configuration (see the module docstring)."""

    reports_bucket: str
    member_role: str = DEFAULT_MEMBER_ROLE
    table_name: str | None = None
    topic_arn: str | None = None
    reminder_hours: float = 24.0
    allow_addresses: Networks = ()
    fetch_issuers: bool = FETCH_ISSUERS.default

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> OrgSettings:
        problems: list[str] = []
        bucket = env.get(archive_mod.BUCKET_ENV) or ""
        if not bucket:
            problems.append(f"{archive_mod.BUCKET_ENV} is not set (organization runs keep their files there)")
        role = env.get("MEMBER_ROLE_NAME") or DEFAULT_MEMBER_ROLE
        if not _ROLE_NAME.fullmatch(role):
            problems.append(f"MEMBER_ROLE_NAME must be an IAM role name, got {role!r}")
        hours = reminder_hours(env, problems)
        allow, fetch = probing(env, problems)
        if problems:
            raise ConfigError("invalid environment: " + "; ".join(problems))
        return cls(
            reports_bucket=bucket,
            member_role=role,
            table_name=env.get("TABLE_NAME") or None,
            topic_arn=env.get("TOPIC_ARN") or None,
            reminder_hours=hours,
            allow_addresses=allow,
            fetch_issuers=fetch,
        )

    def role_arn(self, account_id: str, partition: str = "aws") -> str:
        return f"arn:{partition}:iam::{account_id}:role/{self.member_role}"


def run_prefix(run_id: str) -> str:
    """``org-runs/<run_id>/``: where one organization run's files live (run id made key-safe)."""
    return f"org-runs/{archive_mod.run_id(run_id)}/"
