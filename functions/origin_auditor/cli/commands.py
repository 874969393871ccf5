"""The commands: ``check``, ``check-bundle`` and ``audit``, each importing its stages lazily
(``--help`` and ``check`` start without boto3), and ``audit``'s archive and publish steps."""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, TextIO

from ..model import AuditReport
from ..options import LOOKBACK, OptionError, check_distribution_count
from .args import (
    _bundle_host,
    _check_resolve_names,
    _check_targets,
    _read_file,
    _timeout,
    _trust,
    allowed_addresses,
    env_named,
    fetch_issuers,
    parse_at,
    parse_duration,
    parse_resolve,
)
from .output import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, UsageError, _emit, _progress_printer, say

if TYPE_CHECKING:  # imported lazily at run time: `--help` starts without boto3
    from ..archive import Archive
    from ..fetch import IssuerFetcher
    from ..model import ProbeResult
    from ..trust import TrustStore


def _refuse_input_as_output(out_path: str, in_path: str | None, flag: str) -> None:
    """A written chain never replaces its input silently: OUT must be another file."""
    if in_path is None or in_path == "-":
        return
    same = os.path.realpath(out_path) == os.path.realpath(in_path)
    if not same:
        try:
            same = os.path.samefile(out_path, in_path)
        except OSError:
            same = False
    if same:
        raise UsageError(f"{flag}: {out_path} is the input file; write the fixed chain to another file "
                         "and compare before replacing it")


def _write(path: str, data: bytes, flag: str) -> None:
    try:
        with open(path, "wb") as fh:
            fh.write(data)
    except OSError as e:
        raise UsageError(f"{flag}: cannot write {path}: {e.strerror}") from None


def cmd_check(args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO) -> int:
    from ..fetch import IssuerFetcher
    from ..pipeline import check_report, probe_and_judge
    from ..probe import Resolver, system_resolver
    from ..x509.names import ip_literal

    timeout = _timeout(args)
    at = parse_at(args.at) if args.at else None
    notes: list[str] = []
    targets = _check_targets(args, stdin, notes)
    mapping = parse_resolve(args.resolve, notes)
    _check_resolve_names(mapping, targets)
    # An address the user typed (an IP-literal origin, a --resolve answer) is their own choice:
    # probed whatever range it is in, for this run. What DNS answers is judged as CloudFront sees it.
    named = [a for ips in mapping.values() for a in ips]
    named += [str(ip) for ip in map(ip_literal, (t.host for t in targets)) if ip is not None]
    allow = tuple(dict.fromkeys((*allowed_addresses(args.allow_addresses, os.environ),
                                 *(ipaddress.ip_network(a.split("%", 1)[0]) for a in named))))
    trust = _trust(args.ca_bundle)
    if args.write_chain and len(targets) != 1:
        raise UsageError(f"--write-chain: writes the chain of one origin, got {len(targets)}")
    # Fetches go where CloudFront could connect, or to what --allow-addresses opened: the
    # addresses typed for the origin (--resolve, IP literals) open nothing for caIssuers URLs.
    fetch_allow = allowed_addresses(args.allow_addresses, os.environ)
    fetch = fetch_issuers(args, os.environ)
    for note in notes:
        say(err, f"origin-auditor: note: {note}")

    resolver: Resolver = system_resolver
    if mapping:
        def resolver(host: str, port: int) -> list[str]:
            # Only the targets --resolve names (checked above); the others are what DNS answers.
            key = host.lower().rstrip(".")
            return mapping[key] if key in mapping else system_resolver(host, port)

    fetcher = IssuerFetcher(resolver=system_resolver, allow=fetch_allow) if fetch else None
    pairs = probe_and_judge(targets, resolver=resolver, trust=trust, timeout=timeout, at=at,
                            warn_days=args.warn_days, concurrency=args.concurrency,
                            on_progress=_progress_printer(err), allow=allow, fetcher=fetcher)
    status = _emit(check_report([r for _p, r in pairs]), args.format, args.fail_on, out)
    if args.write_chain:
        status = max(status, _write_chain(args.write_chain, pairs[0][0], trust, fetcher, err))
    return status


def _write_chain(path: str, probe: ProbeResult, trust: TrustStore, fetcher: IssuerFetcher | None,
                 err: TextIO) -> int:
    """``check --write-chain``: the chain the origin should send, or a one-line refusal (exit 1)."""
    from ..bundle import BundleError, fix_chain

    chains = list(dict.fromkeys(tuple(a.chain) for a in probe.addresses if a.chain))
    if not chains:
        say(err, "origin-auditor: --write-chain refused: the origin sent no certificate chain")
        return EXIT_FINDINGS
    if len(chains) > 1:
        say(err, f"origin-auditor: --write-chain refused: the origin's addresses send {len(chains)} "
                 "different chains; check each with --resolve")
        return EXIT_FINDINGS
    if any(a.chain_truncated for a in probe.addresses):
        say(err, "origin-auditor: --write-chain refused: the chain was cut off by the probe's size "
                 "limit, so it is not known as sent")
        return EXIT_FINDINGS
    try:
        fixed = fix_chain(chains[0], trust=trust, fetcher=fetcher, what="chain")
    except BundleError as e:
        # The refusal names certificates from the origin: their makers chose those names.
        say(err, f"origin-auditor: --write-chain refused: {e}")
        return EXIT_FINDINGS
    _write(path, fixed, "--write-chain")
    say(err, f"origin-auditor: wrote {path} (leaf and intermediates in issuing order, no root)")
    return EXIT_OK



def cmd_check_bundle(args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO) -> int:
    from ..bundle import BundleError, check_bundle, fix_bundle
    from ..fetch import IssuerFetcher
    from ..pipeline import check_report, utcnow
    from ..probe import system_resolver

    host = _bundle_host(args.host, err)
    if args.fix:
        _refuse_input_as_output(args.fix, args.file, "--fix")
    trust = _trust(args.ca_bundle)
    # No --allow-addresses here (nothing is probed): ORIGIN_AUDITOR_ALLOW_ADDRESSES opens a lab.
    fetcher = (IssuerFetcher(resolver=system_resolver, allow=allowed_addresses(None, os.environ))
               if fetch_issuers(args, os.environ) else None)
    at = parse_at(args.at) if args.at else utcnow()
    pem = _read_file(args.file, "FILE")
    key_pem = _read_file(args.key, "--key") if args.key else None
    try:
        checked = check_bundle(pem, host, trust=trust, at=at, key_pem=key_pem, warn_days=args.warn_days,
                               fetcher=fetcher)
    except BundleError as e:
        raise UsageError(f"{args.file}: {e}") from None
    status = _emit(check_report([checked.result]), args.format, args.fail_on, out)
    if args.key and checked.key_error:
        # The key check that was asked for never happened: not a pass, whatever the chain says.
        say(err, f"origin-auditor: error: --key: {args.key}: {checked.key_error}")
        status = EXIT_USAGE
    elif args.key and checked.key_matches is False:
        say(err, f"origin-auditor: {args.key} does not belong to the leaf certificate in {args.file}")
        status = max(status, EXIT_FINDINGS)
    if args.fix:
        try:
            fixed = fix_bundle(pem, trust=trust, fetcher=fetcher)
        except BundleError as e:
            # The refusal names certificates from the bundle: their makers chose those names.
            say(err, f"origin-auditor: --fix refused: {e}")
            return EXIT_FINDINGS
        _write(args.fix, fixed, "--fix")
        say(err, f"origin-auditor: wrote {args.fix} (leaf and intermediates in issuing order, no root)")
    return status



TOPIC_ENV = "FINDINGS_TOPIC_ARN"
_TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?")
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def _topic(env: Mapping[str, str]) -> str:
    """The topic ``--publish`` publishes to: FINDINGS_TOPIC_ARN, checked before anything runs."""
    topic = env.get(TOPIC_ENV)
    if not topic:
        raise UsageError(f"--publish needs {TOPIC_ENV} in the environment")
    if not _TOPIC_ARN.fullmatch(topic):
        raise UsageError(f"{env_named(TOPIC_ENV)}: {topic!r} is not an SNS topic ARN "
                         "(arn:aws:sns:REGION:ACCOUNT:NAME)")
    return topic


def _bucket(flag: str | None, env: Mapping[str, str]) -> tuple[str | None, str]:
    """(the reports bucket, where it came from): ``--archive-bucket``, else REPORTS_BUCKET_NAME;
    a name S3 would refuse is a usage error naming its source, before anything runs."""
    from ..archive import BUCKET_ENV

    bucket, source = flag, "--archive-bucket"
    if not flag:
        bucket, source = env.get(BUCKET_ENV) or None, env_named(BUCKET_ENV)
    if bucket is not None and (not _BUCKET_NAME.fullmatch(bucket) or ".." in bucket):
        raise UsageError(f"{source}: {bucket!r} is not an S3 bucket name (3 to 63 lowercase letters, "
                         "digits, dots and hyphens)")
    return bucket, source


def cmd_audit(args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO) -> int:
    from ..audit import AuditOptions, run_audit

    topic = _topic(os.environ) if args.publish else None
    bucket, bucket_source = _bucket(args.archive_bucket, os.environ)
    ids = tuple(dict.fromkeys(args.distribution_id or ()))
    try:
        check_distribution_count(len(ids))
    except OptionError as e:
        raise UsageError(f"--distribution-id: {e.problem}") from None
    allow = allowed_addresses(args.allow_addresses, os.environ)
    trust = _trust(args.ca_bundle)
    options = AuditOptions(
        distribution_ids=ids,
        lookback=parse_duration(args.lookback) if args.lookback is not None else LOOKBACK.default,
        timeout=_timeout(args),
        concurrency=args.concurrency,
        at=parse_at(args.at) if args.at else None,
        warn_days=args.warn_days,
        role_arn=args.role_arn,
        allow_addresses=allow,
        fetch_issuers=fetch_issuers(args, os.environ),
    )
    def say_now(msg: str) -> None:
        say(err, msg)
        err.flush()
    show = say_now if err.isatty() else None
    try:
        report = run_audit(options, trust=trust, progress=show)
    except Exception as e:
        from botocore.exceptions import BotoCoreError, ClientError

        from ..discover import DiscoveryError
        # Nothing to audit: listing distributions failed (credentials, permissions, network), or
        # an AWS call before it did (assuming --role-arn).
        if isinstance(e, (DiscoveryError, BotoCoreError, ClientError)):
            raise UsageError(f"cannot audit: {e}") from None
        raise
    status = _emit(report, args.format, args.fail_on, out)
    archived, archive_status = _archive(report, bucket, bucket_source, err)
    status = max(status, archive_status)
    if topic is not None:
        status = max(status, _publish(report, topic, err, archived))
    return status


def _archive(report: AuditReport, bucket: str | None, source: str,
             err: TextIO) -> tuple[Archive | None, int]:
    """Write the full report to the reports bucket (``--archive-bucket`` or REPORTS_BUCKET_NAME,
    ``source`` says which) as the Lambda does: the JSON report and the HTML page next to it. A
    failure of either is said on stderr (and in the published message), exit 2."""
    import time
    import uuid

    from ..archive import archive_report
    from ..report_html import render_html

    if not bucket:
        return None, EXIT_OK
    archived = archive_report(report.to_json(), bucket=bucket, run=f"cli-{uuid.uuid4().hex[:12]}",
                              now=time.time(), html=render_html(report))
    status = EXIT_OK
    if archived.written:
        say(err, f"origin-auditor: report archived to {archived.uri}")
    else:
        say(err, f"origin-auditor: report not archived to {archived.uri} (bucket from {source}): "
                 f"{archived.error}")
        status = EXIT_USAGE
    page = f"s3://{archived.bucket}/{archived.html_key}"
    if archived.html_written:
        say(err, f"origin-auditor: HTML report archived to {page}")
    else:
        say(err, f"origin-auditor: HTML report not archived to {page}: {archived.html_error}")
        status = EXIT_USAGE
    return archived, status


def _publish(report: AuditReport, topic: str, err: TextIO, archived: Archive | None = None) -> int:
    from ..notify import publish_report

    try:
        publish_report(report, topic_arn=topic, archive=archived)
    except Exception as e:
        say(err, f"origin-auditor: publish to {topic} (from {TOPIC_ENV}) failed: {e}")
        return EXIT_USAGE
    say(err, f"origin-auditor: published to {topic}")
    return EXIT_OK
