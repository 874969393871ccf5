"""The organization state machine's three functions (template handlers, contract: issue 12):

  origin_auditor.org.handlers.list_accounts   ListAccountsFunction
  origin_auditor.org.handlers.audit_account   AccountAuditFunction
  origin_auditor.org.handlers.aggregate       AggregateFunction

Thin shells: the environment (``settings``), clients, the Powertools logger; the logic is in
``accounts``, ``account`` and ``aggregate``. An exception's class name is the Lambda
``errorType`` the state machine sees: ``AccountThrottled`` is retried with backoff, ``InputError``
and ``ConfigError`` are not (a person fixes the input or the stack).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from .. import aws
from . import account as account_mod
from . import accounts as accounts_mod
from . import aggregate as aggregate_mod
from .account import AccountThrottled
from .accounts import InputError
from .settings import OrgSettings

__all__ = ["AccountThrottled", "InputError", "aggregate", "audit_account", "list_accounts"]

_logger: Logger | None = None


def _log() -> Logger:
    # Built on first use so importing this module (tests) does not configure logging.
    global _logger  # noqa: PLW0603 -- one logger per execution environment
    if _logger is None:
        _logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "origin-auditor"))
        logging.getLogger("origin_auditor")
        copy_config_to_registered_loggers(source_logger=_logger, include={"origin_auditor"})
    return _logger


def _partition(context: Any) -> str:
    """The function's own partition (``aws``, ``aws-cn``, ``aws-us-gov``): the member role's ARN."""
    parts = str(getattr(context, "invoked_function_arn", "") or "").split(":")
    return parts[1] if len(parts) > 2 and parts[0] == "arn" and parts[1] else "aws"


def _wrapped(fn: Callable[[Any, Any], dict[str, object]]) -> Callable[[Any, Any], dict[str, object]]:
    def entry(event: Any, context: Any) -> dict[str, object]:
        log = _log()
        log.set_correlation_id(getattr(context, "aws_request_id", None))
        return log.inject_lambda_context(clear_state=True)(fn)(event, context)

    entry.__name__ = fn.__name__
    entry.__doc__ = fn.__doc__
    return entry


def handle_list_accounts(
    event: Any,
    context: Any,
    *,
    organizations: Any = None,
    s3: Any = None,
    env: dict[str, str] | None = None,
    now: float | None = None,
) -> dict[str, object]:
    settings = OrgSettings.from_env(os.environ if env is None else env)
    request = accounts_mod.Request.parse(event)
    return accounts_mod.list_accounts(
        request,
        organizations=organizations or aws.client("organizations"),
        s3=s3 or aws.client("s3"),
        bucket=settings.reports_bucket,
        now=time.time() if now is None else now,
    )


def handle_audit_account(
    event: Any, context: Any, *, s3: Any = None, env: dict[str, str] | None = None, **kw: Any
) -> dict[str, object]:
    settings = OrgSettings.from_env(os.environ if env is None else env)
    request = account_mod.AccountRequest.parse(event)
    if request.action == "plan":
        return account_mod.plan(request, settings, partition=_partition(context), base=kw.get("base"))
    return account_mod.audit(
        request, settings, s3=s3 or aws.client("s3"), context=context, partition=_partition(context), **kw
    )


def handle_aggregate(
    event: Any,
    context: Any,
    *,
    s3: Any = None,
    dynamodb: Any = None,
    sns: Any = None,
    env: dict[str, str] | None = None,
    now: float | None = None,
    message_max_bytes: int | None = None,
) -> dict[str, object]:
    settings = OrgSettings.from_env(os.environ if env is None else env)
    return aggregate_mod.aggregate(
        event,
        settings,
        s3=s3 or aws.client("s3"),
        dynamodb=dynamodb,
        sns=sns,
        now=time.time() if now is None else now,
        message_max_bytes=message_max_bytes,
    )


list_accounts = _wrapped(handle_list_accounts)
audit_account = _wrapped(handle_audit_account)
aggregate = _wrapped(handle_aggregate)
