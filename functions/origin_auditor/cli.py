"""The ``origin-auditor`` command: a thin shell over the same functions the Lambda runs.

Exit status: 0 nothing at or above ``--fail-on`` (default ``fail``), 1 something is,
2 bad usage or unreadable input (one line on stderr saying what).

Every message line goes through ``say`` (``present.text.terminal``): messages quote certificate
names, AWS error texts and file names, and an ESC sequence or newline in one must not move the
cursor or forge a line of its own.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import ipaddress
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, TextIO, TypeVar

from . import __version__
from .model import AuditReport, Target
from .options import (
    ALLOW_ADDRESSES,
    CONCURRENCY,
    LOOKBACK,
    TIMEOUT,
    WARN_DAYS,
    Limit,
    Networks,
    OptionError,
    TextOption,
    check_distribution_count,
)
from .present.text import terminal
from .report import FORMATS, render, worst_at_or_above
from .rules import ORIGIN_SSL_PROTOCOLS

if TYPE_CHECKING:  # imported lazily at run time: `--help` starts without cryptography
    from .archive import Archive
    from .trust import TrustStore

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments or unreadable input: exit 2 with this one-line message."""


def say(stream: TextIO, message: str) -> None:
    """One message line on ``stream`` (stderr), outside text in it escaped (``terminal``)."""
    stream.write(terminal(message) + "\n")


# ---------------------------------------------------------------- argument parsing helpers


def parse_host_port(value: str, default_port: int = 443) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]:port``, bare IPv6, or an https:// URL -> (host, port)."""
    raw = value.strip()
    if "://" in raw:
        scheme, _, raw = raw.partition("://")
        if scheme.lower() != "https":
            raise UsageError(f"{value!r}: only https:// origins are checked")
        raw = raw.split("/", 1)[0]
    if not raw:
        raise UsageError(f"{value!r}: empty host")
    host, port_text = raw, ""
    if raw.startswith("["):
        end = raw.find("]")
        if end < 0:
            raise UsageError(f"{value!r}: unterminated [IPv6] literal")
        host, rest = raw[1:end], raw[end + 1:]
        if rest and not rest.startswith(":"):
            raise UsageError(f"{value!r}: expected :PORT after ]")
        port_text = rest[1:]
    elif raw.count(":") == 1:
        host, port_text = raw.split(":")
    elif raw.count(":") > 1:
        host = raw  # bare IPv6 literal
    port = default_port
    if port_text:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise UsageError(f"{value!r}: port must be a number from 1 to 65535")
        port = int(port_text)
    if not re.fullmatch(r"[A-Za-z0-9._:*-]+", host) or ".." in host:
        raise UsageError(f"{value!r}: not a host name or IP address")
    return host, port


def parse_protocols(value: str) -> tuple[str, ...]:
    items = tuple(p.strip() for p in value.split(",") if p.strip())
    canon = {p.lower(): p for p in ORIGIN_SSL_PROTOCOLS}
    out = []
    for p in items:
        if p.lower() not in canon:
            raise UsageError(f"--protocols: {p!r} is not one of {', '.join(ORIGIN_SSL_PROTOCOLS)}")
        out.append(canon[p.lower()])
    if not out:
        raise UsageError("--protocols: give at least one of " + ", ".join(ORIGIN_SSL_PROTOCOLS))
    return tuple(dict.fromkeys(out))


def parse_at(value: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--at: {value!r} is not an ISO-8601 time (e.g. 2026-12-01T00:00:00Z)") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


T = TypeVar("T")


def parse_limited(limit: TextOption[T], value: str) -> T:
    """The value of a limited option, or ``UsageError``: the options model's words after the flag."""
    try:
        return limit.from_text(value)
    except OptionError as e:
        raise UsageError(f"{limit.flag}: {e.problem}") from None


def parse_timeout(value: str) -> float:
    """``--timeout SECONDS`` within ``options.TIMEOUT``."""
    return parse_limited(TIMEOUT, value)


def parse_duration(value: str) -> dt.timedelta:
    """``90m``, ``3h``, ``1d``, ``3600`` (seconds) -> timedelta, within ``options.LOOKBACK``."""
    return parse_limited(LOOKBACK, value)


def parse_resolve(values: Sequence[str]) -> dict[str, list[str]]:
    """``--resolve NAME=IP[,IP...]`` (like curl's --resolve): probe NAME at these addresses."""
    from .x509.names import ip_literal  # the one IP-literal parser (loads cryptography: lazily)

    mapping: dict[str, list[str]] = {}
    for v in values:
        name, sep, addrs = v.partition("=")
        if not sep or not name or not addrs:
            raise UsageError(f"--resolve: {v!r} is not NAME=IP[,IP...]")
        ips = []
        for a in addrs.split(","):
            ip = ip_literal(a.strip())
            if ip is None:
                raise UsageError(f"--resolve: {a!r} is not an IP address")
            ips.append(str(ip))
        mapping.setdefault(name.lower().rstrip("."), []).extend(ips)
    return mapping


def allowed_addresses(flag_value: str | None, env: Mapping[str, str]) -> Networks:
    """The ranges opened for probing: ``--allow-addresses`` when given (``""`` opens none),
    else ORIGIN_AUDITOR_ALLOW_ADDRESSES, as ``--ca-bundle`` replaces ORIGIN_AUDITOR_CA_BUNDLE."""
    if flag_value is not None:
        return parse_limited(ALLOW_ADDRESSES, flag_value)
    try:
        return ALLOW_ADDRESSES.from_env(env)
    except OptionError as e:
        raise UsageError(f"{ALLOW_ADDRESSES.env}: {e.problem}") from None


def argparse_type(limit: Limit[int]) -> Callable[[str], int]:
    """``type=`` for a bounded count: argparse reports it (usage line, then
    ``argument --FLAG: <the options model's words>``), exit 2."""
    def parse(value: str) -> int:
        try:
            return limit.from_text(value)
        except OptionError as e:
            raise argparse.ArgumentTypeError(e.problem) from None
    return parse


# ---------------------------------------------------------------- the commands


def _timeout(args: argparse.Namespace) -> float:
    return TIMEOUT.default if args.timeout is None else parse_timeout(args.timeout)


def _progress_printer(stream: TextIO) -> Callable[[int, int], None] | None:
    if not stream.isatty():
        return None

    def show(done: int, total: int) -> None:
        stream.write(f"\rprobed {done}/{total} origin(s)")
        if done == total:
            stream.write("\n")
        stream.flush()
    return show


def _trust(ca_bundle: str | None) -> TrustStore:
    from .trust import TrustStoreError, load_trust_store
    try:
        return load_trust_store(ca_bundle)
    except (TrustStoreError, OSError) as e:
        raise UsageError(f"--ca-bundle: {e}") from None


def _emit(report: AuditReport, fmt: str, fail_on: str, out: TextIO) -> int:
    out.write(render(report, fmt))
    out.write("\n")
    return EXIT_FINDINGS if worst_at_or_above(report.results, fail_on) else EXIT_OK


def cmd_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .pipeline import check_report, check_targets
    from .probe import Resolver, system_resolver
    from .x509.names import ip_literal

    protocols = parse_protocols(args.protocols)
    timeout = _timeout(args)
    at = parse_at(args.at) if args.at else None
    mapping = parse_resolve(args.resolve)
    targets = []
    for spec in args.origins:
        host, port = parse_host_port(spec)
        targets.append(Target(host=host, port=port, server_name=args.server_name, protocols=protocols))
    # An address the user typed (an IP-literal origin, a --resolve answer) is their own choice:
    # probed whatever range it is in, for this run. What DNS answers is judged as CloudFront sees it.
    named = [a for ips in mapping.values() for a in ips]
    named += [str(ip) for ip in map(ip_literal, (t.host for t in targets)) if ip is not None]
    allow = tuple(dict.fromkeys((*allowed_addresses(args.allow_addresses, os.environ),
                                 *(ipaddress.ip_network(a.split("%", 1)[0]) for a in named))))
    trust = _trust(args.ca_bundle)

    resolver: Resolver = system_resolver
    if mapping:
        def resolver(host: str, port: int) -> list[str]:
            return mapping.get(host.lower().rstrip(".")) or system_resolver(host, port)

    results = check_targets(targets, resolver=resolver, trust=trust, timeout=timeout, at=at,
                            warn_days=args.warn_days, concurrency=args.concurrency,
                            on_progress=_progress_printer(err), allow=allow)
    return _emit(check_report(results), args.format, args.fail_on, out)


def cmd_check_bundle(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .bundle import BundleError, check_bundle, fix_bundle
    from .pipeline import check_report, utcnow

    trust = _trust(args.ca_bundle)
    at = parse_at(args.at) if args.at else utcnow()
    pem = _read_file(args.file, "FILE")
    key_pem = _read_file(args.key, "--key") if args.key else None
    try:
        checked = check_bundle(pem, args.host, trust=trust, at=at, key_pem=key_pem, warn_days=args.warn_days)
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
            fixed = fix_bundle(pem, trust=trust)
        except BundleError as e:
            # The refusal names certificates from the bundle: their makers chose those names.
            say(err, f"origin-auditor: --fix refused: {e}")
            return EXIT_FINDINGS
        try:
            with open(args.fix, "wb") as fh:
                fh.write(fixed)
        except OSError as e:
            raise UsageError(f"--fix: cannot write {args.fix}: {e.strerror}") from None
        say(err, f"origin-auditor: wrote {args.fix} (leaf and intermediates in issuing order)")
    return status


def _read_file(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            data = fh.read(10 * 1024 * 1024 + 1)
    except OSError as e:
        raise UsageError(f"{what}: cannot read {path}: {e.strerror}") from None
    if len(data) > 10 * 1024 * 1024:
        raise UsageError(f"{what}: {path} is larger than 10 MiB; not a certificate bundle")
    return data


def cmd_audit(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .audit import AuditOptions, run_audit

    if args.publish and not os.environ.get("FINDINGS_TOPIC_ARN"):
        raise UsageError("--publish needs FINDINGS_TOPIC_ARN in the environment")
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
    )
    def say_now(msg: str) -> None:
        say(err, msg)
        err.flush()
    show = say_now if err.isatty() else None
    try:
        report = run_audit(options, trust=trust, progress=show)
    except Exception as e:
        from botocore.exceptions import BotoCoreError, ClientError

        from .discover import DiscoveryError
        # Nothing to audit: listing distributions failed (credentials, permissions, network), or
        # an AWS call before it did (assuming --role-arn).
        if isinstance(e, (DiscoveryError, BotoCoreError, ClientError)):
            raise UsageError(f"cannot audit: {e}") from None
        raise
    status = _emit(report, args.format, args.fail_on, out)
    archived, archive_status = _archive(report, args.archive_bucket, err)
    status = max(status, archive_status)
    if args.publish:
        status = max(status, _publish(report, err, archived))
    return status


def _archive(report: AuditReport, bucket: str | None, err: TextIO) -> tuple[Archive | None, int]:
    """Write the full report to the reports bucket (``--archive-bucket`` or REPORTS_BUCKET_NAME),
    as the Lambda does; a failure is said on stderr and in the published message, exit 2."""
    import time
    import uuid

    from .archive import BUCKET_ENV, archive_report

    bucket = bucket or os.environ.get(BUCKET_ENV) or None
    if not bucket:
        return None, EXIT_OK
    archived = archive_report(report.to_json(), bucket=bucket, run=f"cli-{uuid.uuid4().hex[:12]}",
                              now=time.time())
    if not archived.written:
        err.write(f"origin-auditor: report not archived to {archived.uri}: {archived.error}\n")
        return archived, EXIT_USAGE
    err.write(f"origin-auditor: report archived to {archived.uri}\n")
    return archived, EXIT_OK


def _publish(report: AuditReport, err: TextIO, archived: Archive | None = None) -> int:
    from .notify import publish_report

    topic = os.environ.get("FINDINGS_TOPIC_ARN")
    if not topic:
        raise UsageError("--publish needs FINDINGS_TOPIC_ARN in the environment")
    try:
        publish_report(report, topic_arn=topic, archive=archived)
    except Exception as e:
        say(err, f"origin-auditor: publish to {topic} failed: {e}")
        return EXIT_USAGE
    say(err, f"origin-auditor: published to {topic}")
    return EXIT_OK


# Subcommands implemented outside the runtime package: the entry point named after the command
# (in pyproject: demo = "origin_auditor_lab.demo:run_demo"). cli.py keeps the command's parser, so
# `--help` lists it and a plain install explains itself, but reaches the code only through package
# metadata: the runtime package never imports the lab, and the Lambda artifact leaves it out.
COMMANDS_GROUP = "origin_auditor.commands"


def cmd_demo(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``demo``: run the lab's ``run_demo`` if the lab and moto are installed, else say how to get them."""
    from importlib.metadata import entry_points

    entry = next(iter(entry_points(group=COMMANDS_GROUP, name="demo")), None)
    missing: str | None = "origin_auditor_lab"  # no entry point: the lab's metadata is not installed
    run_demo: Callable[..., int] | None = None
    if entry is not None:
        try:
            run_demo = entry.load()
        except ImportError as e:  # moto is an optional dependency: the demo is the only user
            missing = e.name
    if run_demo is None:
        raise UsageError(f"the demo needs moto ({missing} is missing): pip install 'origin-auditor[demo]'")
    return run_demo(out=out, err=err, fmt=args.format)


# ---------------------------------------------------------------- parser


def _common(p: argparse.ArgumentParser, *, net: bool = True) -> None:
    p.add_argument("--format", choices=FORMATS, default="text", help="output format (default text)")
    p.add_argument("--fail-on", choices=("warn", "fail"), default="fail",
                   help="exit 1 when a result is at or above this (default fail)")
    p.add_argument("--ca-bundle", metavar="PEM",
                   help="trust these roots instead of Mozilla's (also ORIGIN_AUDITOR_CA_BUNDLE)")
    p.add_argument("--at", metavar="ISO-8601", help="judge validity at this time (default now)")
    p.add_argument(WARN_DAYS.flag, type=argparse_type(WARN_DAYS), default=WARN_DAYS.default, metavar="N",
                   help="warn when a certificate expires within this many days, "
                        f"{WARN_DAYS.range_text} (default {WARN_DAYS.default})")
    if net:
        p.add_argument(TIMEOUT.flag, default=None, metavar="SECONDS",
                       help=f"connect and handshake limit each, {TIMEOUT.range_text} "
                            f"(default {TIMEOUT.default_text})")
        p.add_argument(CONCURRENCY.flag, type=argparse_type(CONCURRENCY), default=CONCURRENCY.default,
                       metavar="N", help=f"handshakes in flight at once, {CONCURRENCY.range_text} "
                                         f"(default {CONCURRENCY.default})")
        p.add_argument(ALLOW_ADDRESSES.flag, default=None, metavar="CIDR[,CIDR]",
                       help="probe DNS answers in these ranges although CloudFront cannot reach them "
                            "(loopback, private, link-local...: a lab); otherwise such an answer is "
                            f"ADDRESS_NOT_PUBLIC and not connected to (also {ALLOW_ADDRESSES.env})")


def build_parser(out: TextIO | None = None, err: TextIO | None = None) -> argparse.ArgumentParser:
    """The parser; its help goes to ``out`` and its usage errors to ``err`` (default: sys's)."""

    class Parser(argparse.ArgumentParser):
        # argparse writes to sys.stdout/sys.stderr itself; main(out=, err=) must own its output.
        def _print_message(self, message: str, file: object = None) -> None:
            if message:
                (err if file is sys.stderr and err else out if out else sys.stdout).write(message)

    parser = Parser(
        prog="origin-auditor",
        description="Find CloudFront custom origins whose TLS setup CloudFront will reject, "
                    "before CloudFront does.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)

    p = sub.add_parser("check", help="probe origins as CloudFront would and judge their TLS",
                       description="Connect to each origin the way CloudFront does (its ciphers, the "
                                   "allowed protocols, the SNI it sends) and judge the chain.")
    p.add_argument("origins", nargs="+", metavar="HOST[:PORT]")
    p.add_argument("--server-name", metavar="NAME",
                   help="name sent as SNI (default: HOST; with Host forwarding: the alias); a certificate "
                        "covering it or HOST passes, as at CloudFront")
    p.add_argument("--protocols", default="TLSv1.2", metavar="LIST",
                   help="OriginSslProtocols, comma-separated (default TLSv1.2)")
    p.add_argument("--resolve", action="append", default=[], metavar="NAME=IP[,IP]",
                   help="probe NAME at these addresses instead of its DNS answer (repeatable)")
    _common(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("check-bundle", help="judge a PEM bundle offline before deploying it",
                       description="Judge a certificate bundle file as CloudFront would judge it when "
                                   "served; --fix writes it in the order CloudFront needs.")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--host", required=True, metavar="NAME", help="the name CloudFront will send")
    p.add_argument("--key", metavar="KEY.pem", help="check this private key belongs to the leaf")
    p.add_argument("--fix", metavar="OUT.pem",
                   help="write leaf + intermediates in issuing order, duplicates and strays removed")
    _common(p, net=False)
    p.set_defaults(func=cmd_check_bundle)

    p = sub.add_parser("audit", help="audit every CloudFront distribution in an AWS account",
                       description="Discover CloudFront custom origins, probe them, correlate with "
                                   "CloudWatch 5xx/502 rates and classify each distribution.")
    p.add_argument("--distribution-id", action="append", metavar="ID", help="only these (repeatable)")
    p.add_argument(LOOKBACK.flag, metavar="DURATION",
                   help=f"CloudWatch window, e.g. 90m, 3h, 1d; {LOOKBACK.range_text} "
                        f"(default {LOOKBACK.default_text})")
    p.add_argument("--role-arn", help="assume this role first (audit another account)")
    p.add_argument("--publish", action="store_true",
                   help="publish the report to the SNS topic in FINDINGS_TOPIC_ARN")
    p.add_argument("--archive-bucket", metavar="BUCKET",
                   help="write the full JSON report to s3://BUCKET/reports/YYYY/MM/DD/ (default: "
                        "REPORTS_BUCKET_NAME, the stack's ReportsBucketName); --publish links it")
    _common(p)
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("demo", help="the whole pipeline on an embedded AWS with local TLS origins",
                       description="Recreate the incident on an embedded (moto) AWS with local TLS "
                                   "origins; no account needed.")
    p.add_argument("--format", choices=FORMATS, default="text")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    if out is None:
        out = sys.stdout
        # Reports quote certificate names and draw chains with arrows: on a stdout that is not
        # UTF-8 (a Windows redirect, PYTHONIOENCODING=cp1252) replace what it cannot encode
        # rather than lose the report to a UnicodeEncodeError.
        if isinstance(out, io.TextIOWrapper):
            out.reconfigure(errors="replace")
    err = err or sys.stderr
    if isinstance(err, io.TextIOWrapper):
        err.reconfigure(errors="replace")
    parser = build_parser(out, err)
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse already printed its usage line
        return int(e.code) if isinstance(e.code, int) else EXIT_USAGE
    try:
        status = int(args.func(args, out, err))
        out.flush()  # a closed pipe fails here, inside the handler below, not at interpreter exit
        return status
    except UsageError as e:
        say(err, f"origin-auditor: error: {e}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        err.write("origin-auditor: interrupted\n")
        return 130
    except BrokenPipeError:
        # The reader went away (`origin-auditor ... | head -1`): its choice, not an error. Point
        # stdout at /dev/null so the interpreter's final flush does not fail again.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a command ended by a closed pipe


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
