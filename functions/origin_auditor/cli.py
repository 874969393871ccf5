"""The ``origin-auditor`` command: a thin shell over the same functions the Lambda runs.

Exit status: 0 nothing at or above ``--fail-on`` (default ``fail``), 1 something is,
2 bad usage or unreadable input (one line on stderr saying what).
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
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TextIO

from . import __version__
from .model import AuditReport, Target
from .report import FORMATS, render, worst_at_or_above
from .rules import DEFAULT_TIMEOUT_SECONDS, EXPIRY_WARN_DAYS, ORIGIN_SSL_PROTOCOLS

if TYPE_CHECKING:  # imported lazily at run time: `--help` starts without cryptography
    from .trust import TrustStore

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
MAX_TIMEOUT = 120.0  # CloudFront's own OriginReadTimeout ceiling; more is never what CloudFront waits


class UsageError(Exception):
    """Bad arguments or unreadable input: exit 2 with this one-line message."""


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


def parse_timeout(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise UsageError(f"--timeout: {value!r} is not a number of seconds") from None
    if not 0 < seconds <= MAX_TIMEOUT:
        raise UsageError(f"--timeout: {value} is out of range (0 < seconds <= {MAX_TIMEOUT:g})")
    return seconds


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")


def parse_duration(value: str, option: str = "--lookback") -> dt.timedelta:
    """``90m``, ``3h``, ``1d``, ``3600`` (seconds) -> timedelta (1 minute to 15 days)."""
    m = _DURATION.match(value)
    if not m:
        raise UsageError(f"{option}: {value!r} is not a duration like 90m, 3h or 1d")
    mult = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
    delta = dt.timedelta(seconds=float(m.group(1)) * mult)
    if not dt.timedelta(minutes=1) <= delta <= dt.timedelta(days=15):
        raise UsageError(f"{option}: {value} is out of range (1m to 15d: CloudWatch keeps 1-minute "
                         "data for 15 days)")
    return delta


def parse_resolve(values: Sequence[str]) -> dict[str, list[str]]:
    """``--resolve NAME=IP[,IP...]`` (like curl's --resolve): probe NAME at these addresses."""
    mapping: dict[str, list[str]] = {}
    for v in values:
        name, sep, addrs = v.partition("=")
        if not sep or not name or not addrs:
            raise UsageError(f"--resolve: {v!r} is not NAME=IP[,IP...]")
        ips = []
        for a in addrs.split(","):
            try:
                ips.append(str(ipaddress.ip_address(a.strip().strip("[]"))))
            except ValueError:
                raise UsageError(f"--resolve: {a!r} is not an IP address") from None
        mapping.setdefault(name.lower().rstrip("."), []).extend(ips)
    return mapping


def _positive_int(option: str, lo: int, hi: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        if not value.isdigit() or not lo <= int(value) <= hi:
            raise argparse.ArgumentTypeError(f"{option} must be a whole number from {lo} to {hi}")
        return int(value)
    return parse


# ---------------------------------------------------------------- the commands


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

    protocols = parse_protocols(args.protocols)
    timeout = parse_timeout(args.timeout)
    at = parse_at(args.at) if args.at else None
    mapping = parse_resolve(args.resolve)
    targets = []
    for spec in args.origins:
        host, port = parse_host_port(spec)
        targets.append(Target(host=host, port=port, server_name=args.server_name, protocols=protocols))
    trust = _trust(args.ca_bundle)

    resolver: Resolver = system_resolver
    if mapping:
        def resolver(host: str, port: int) -> list[str]:
            return mapping.get(host.lower().rstrip(".")) or system_resolver(host, port)

    results = check_targets(targets, resolver=resolver, trust=trust, timeout=timeout, at=at,
                            warn_days=args.warn_days, concurrency=args.concurrency,
                            on_progress=_progress_printer(err))
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
        err.write(f"origin-auditor: error: --key: {args.key}: {checked.key_error}\n")
        status = EXIT_USAGE
    elif args.key and checked.key_matches is False:
        err.write(f"origin-auditor: {args.key} does not belong to the leaf certificate in {args.file}\n")
        status = max(status, EXIT_FINDINGS)
    if args.fix:
        try:
            fixed = fix_bundle(pem, trust=trust)
        except BundleError as e:
            err.write(f"origin-auditor: --fix refused: {e}\n")
            return EXIT_FINDINGS
        try:
            with open(args.fix, "wb") as fh:
                fh.write(fixed)
        except OSError as e:
            raise UsageError(f"--fix: cannot write {args.fix}: {e.strerror}") from None
        err.write(f"origin-auditor: wrote {args.fix} (leaf and intermediates in issuing order)\n")
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
    trust = _trust(args.ca_bundle)
    options = AuditOptions(
        distribution_ids=tuple(args.distribution_id or ()),
        lookback=parse_duration(args.lookback),
        timeout=parse_timeout(args.timeout),
        concurrency=args.concurrency,
        at=parse_at(args.at) if args.at else None,
        warn_days=args.warn_days,
        role_arn=args.role_arn,
    )
    show = (lambda msg: (err.write(f"{msg}\n"), err.flush())) if err.isatty() else None
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
    if args.publish:
        status = max(status, _publish(report, err))
    return status


def _publish(report: AuditReport, err: TextIO) -> int:
    from .notify import publish_report

    topic = os.environ.get("FINDINGS_TOPIC_ARN")
    if not topic:
        raise UsageError("--publish needs FINDINGS_TOPIC_ARN in the environment")
    try:
        publish_report(report, topic_arn=topic)
    except Exception as e:
        err.write(f"origin-auditor: publish to {topic} failed: {e}\n")
        return EXIT_USAGE
    err.write(f"origin-auditor: published to {topic}\n")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        from .demo import run_demo
    except ImportError as e:  # moto is an optional dependency: the demo is the only user
        raise UsageError(f"the demo needs moto ({e.name} is missing): "
                         "pip install 'origin-auditor[demo]'") from None
    return run_demo(out=out, err=err, fmt=args.format)


# ---------------------------------------------------------------- parser


def _common(p: argparse.ArgumentParser, *, net: bool = True) -> None:
    p.add_argument("--format", choices=FORMATS, default="text", help="output format (default text)")
    p.add_argument("--fail-on", choices=("warn", "fail"), default="fail",
                   help="exit 1 when a result is at or above this (default fail)")
    p.add_argument("--ca-bundle", metavar="PEM",
                   help="trust these roots instead of Mozilla's (also ORIGIN_AUDITOR_CA_BUNDLE)")
    p.add_argument("--at", metavar="ISO-8601", help="judge validity at this time (default now)")
    p.add_argument("--warn-days", type=_positive_int("--warn-days", 0, 3650), default=EXPIRY_WARN_DAYS,
                   help=f"warn when a certificate expires within this many days (default {EXPIRY_WARN_DAYS})")
    if net:
        p.add_argument("--timeout", default=str(DEFAULT_TIMEOUT_SECONDS), metavar="SECONDS",
                       help=f"connect and handshake limit each (default {DEFAULT_TIMEOUT_SECONDS:g})")
        p.add_argument("--concurrency", type=_positive_int("--concurrency", 1, 512), default=64,
                       help="handshakes in flight at once (default 64)")


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
    p.add_argument("--lookback", default="3h", help="CloudWatch window, e.g. 90m, 3h, 1d (default 3h)")
    p.add_argument("--role-arn", help="assume this role first (audit another account)")
    p.add_argument("--publish", action="store_true",
                   help="publish the report to the SNS topic in FINDINGS_TOPIC_ARN")
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
        err.write(f"origin-auditor: error: {e}\n")
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
