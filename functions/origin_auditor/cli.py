"""The ``origin-auditor`` command: a thin shell over the same functions the Lambda runs.

Exit status: 0 nothing at or above ``--fail-on`` (default ``fail``), 1 something is,
2 bad usage or unreadable input: one line on stderr, ``origin-auditor: error: ...``, argparse's
own errors included (``Parser.error``), naming the flag, the file and line, or the environment
variable the bad value came from.

Text output on a terminal is wrapped to its width and coloured (``NO_COLOR`` turns colour off);
in a pipe it is plain, one item a line, as before. The wrapping and the few colours are done
here and in ``report`` with the standard library: no rendering library's markup interpreter sits
between outside text (certificate names, AWS errors) and the terminal, and the Lambda carries
nothing for it.

Every message line goes through ``say`` (``present.text.terminal``): messages quote certificate
names, AWS error texts and file names, and an ESC sequence or newline in one must not move the
cursor or forge a line of its own.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import difflib
import io
import ipaddress
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, NoReturn, TextIO, TypeVar

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
from .report import FORMATS, render, render_text, worst_at_or_above
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
    host, port, _ = split_origin(value, default_port)
    return host, port


def split_origin(value: str, default_port: int = 443) -> tuple[str, int, str]:
    """(host, port, what was ignored) of an origin as people paste it: ``host``, ``host:port``,
    ``[v6]:port``, bare IPv6, or ``https://host:port/path?query#fragment``. The path, query and
    fragment are returned so the caller can say they were ignored (a lone ``/`` is nothing)."""
    raw = value.strip()
    if "://" in raw:
        scheme, _, raw = raw.partition("://")
        if scheme.lower() != "https":
            raise UsageError(f"{value!r}: only https:// origins are checked")
    cut = min((i for i in map(raw.find, "/?#") if i >= 0), default=len(raw))
    raw, ignored = raw[:cut], raw[cut:]
    ignored = "" if ignored == "/" else ignored
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
    return host, port, ignored


def target_lines(text: str, source: str) -> list[tuple[str, str]]:
    """The origins in a targets file: one a line, ``#`` starts a comment (at the start of a line
    or after a space: a URL's ``#fragment`` is not one), blank lines skipped. Each comes with
    where it was, ``SOURCE:LINE``, for errors and notes."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        spec = re.split(r"(?:^|\s)#", line, maxsplit=1)[0].strip()
        if spec:
            out.append((f"{source}:{number}", spec))
    return out


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate ``word`` was most likely meant to be (difflib), or None if none is close."""
    found = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


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


def parse_resolve(values: Sequence[str], notes: list[str] | None = None) -> dict[str, list[str]]:
    """``--resolve NAME=IP[,IP...]`` (like curl's --resolve): probe NAME at these addresses.
    NAME may be pasted as a URL (``https://NAME:PORT/path``): the name counts; a path ignored
    is added to ``notes``."""
    from .x509.names import ip_literal  # the one IP-literal parser (loads cryptography: lazily)

    mapping: dict[str, list[str]] = {}
    for v in values:
        name, sep, addrs = v.rpartition("=")  # a URL's query may hold "="; an address never does
        if not sep or not name or not addrs:
            raise UsageError(f"--resolve: {v!r} is not NAME=IP[,IP...]")
        if "://" in name or "/" in name:
            try:
                name, _, ignored = split_origin(name)
            except UsageError as e:
                raise UsageError(f"--resolve: {e}") from None
            if ignored and notes is not None:
                notes.append(f"--resolve {v}: the path {ignored} is ignored (--resolve maps a name)")
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
        raise UsageError(f"{env_named(ALLOW_ADDRESSES.env)}: {e.problem}") from None


def env_named(variable: str) -> str:
    """How an error names a value that came from the environment: the user set a variable, not
    a flag, and should be told which one to fix."""
    return f"{variable} (environment)"


def argparse_type(limit: Limit[int]) -> Callable[[str], int]:
    """``type=`` for a bounded count: argparse reports it (``Parser.error``: one line,
    ``--FLAG: <the options model's words>``), exit 2."""
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
    from .trust import ENV_CA_BUNDLE, TrustStoreError, load_trust_store
    try:
        return load_trust_store(ca_bundle)
    except (TrustStoreError, OSError) as e:
        source = ("--ca-bundle" if ca_bundle else env_named(ENV_CA_BUNDLE) if os.environ.get(ENV_CA_BUNDLE)
                  else "trust store")
        raise UsageError(f"{source}: {e}") from None


def terminal_style(out: TextIO, env: Mapping[str, str]) -> tuple[int | None, bool]:
    """(width, colour) for the text report on ``out``: wrapped to the terminal's width
    (``COLUMNS`` first, as ``shutil.get_terminal_size``) and coloured unless ``NO_COLOR`` is set
    to anything but "" (https://no-color.org) or ``TERM=dumb``; a pipe or file gets neither."""
    try:
        tty = out.isatty()
    except (OSError, ValueError):
        tty = False
    if not tty:
        return None, False
    width = 0
    with contextlib.suppress(ValueError):
        width = int(env.get("COLUMNS", ""))
    if width <= 0:
        try:
            width = os.get_terminal_size(out.fileno()).columns
        except (OSError, ValueError, io.UnsupportedOperation):
            width = 80
    colour = not env.get("NO_COLOR") and env.get("TERM") != "dumb"
    return width or 80, colour


def _emit(report: AuditReport, fmt: str, fail_on: str, out: TextIO) -> int:
    if fmt == "text":
        width, colour = terminal_style(out, os.environ)
        out.write(render_text(report, width=width, colour=colour))
    else:
        out.write(render(report, fmt))
    out.write("\n")
    return EXIT_FINDINGS if worst_at_or_above(report.results, fail_on) else EXIT_OK


MAX_INPUT_BYTES = 10 * 1024 * 1024  # a bundle or a list of origins; anything larger is a mistake


def _origin_specs(args: argparse.Namespace, stdin: TextIO) -> list[tuple[str, str]]:
    """(where, spec) of every origin named: arguments (``-`` reads standard input in its place)
    then each ``--targets-file`` (``-`` too). ``where`` is ``FILE:LINE`` or "" for an argument."""
    specs: list[tuple[str, str]] = []
    read_stdin = False

    def from_stdin() -> list[tuple[str, str]]:
        nonlocal read_stdin
        if read_stdin:
            raise UsageError("-: standard input is named twice; it can be read once")
        read_stdin = True
        text = stdin.read(MAX_INPUT_BYTES + 1)
        if len(text) > MAX_INPUT_BYTES:
            raise UsageError("-: standard input is larger than 10 MiB; not a list of origins")
        return target_lines(text, "<stdin>")

    for spec in args.origins:
        specs += from_stdin() if spec == "-" else [("", spec)]
    for path in args.targets_file or ():
        if path == "-":
            specs += from_stdin()
            continue
        data = _read_file(path, "--targets-file", "a list of origins")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise UsageError(f"--targets-file: {path} is not UTF-8 text") from None
        specs += target_lines(text, path)
    return specs


def _check_targets(args: argparse.Namespace, stdin: TextIO, notes: list[str]) -> list[Target]:
    """The targets ``check`` probes, each once, in the order named; a bad one is a usage error
    naming where it was. A legacy protocol allowed is a finding as ``audit`` words it."""
    from .judge.discovery import protocol_findings

    protocols = parse_protocols(args.protocols)
    targets: dict[tuple[str, int], Target] = {}
    for where, spec in _origin_specs(args, stdin):
        try:
            host, port, ignored = split_origin(spec)
        except UsageError as e:
            raise UsageError(f"{where}: {e}" if where else str(e)) from None
        if ignored:
            notes.append(f"{where + ': ' if where else ''}{spec}: the path {ignored} is ignored "
                         "(an origin is a host and a port)")
        target = Target(host=host, port=port, server_name=args.server_name, protocols=protocols)
        target = dataclasses.replace(target, notes=tuple(protocol_findings(protocols, target.display)))
        targets.setdefault((host.lower().rstrip("."), port), target)
    if not targets:
        named = "the input held none" if args.origins or args.targets_file else "none given"
        raise UsageError(f"no origins to check ({named}): name HOST[:PORT], --targets-file FILE, "
                         "or - to read them from standard input, one a line")
    return list(targets.values())


def _check_resolve_names(mapping: Mapping[str, list[str]], targets: Sequence[Target]) -> None:
    """Every ``--resolve`` NAME is a target's host: a typo would otherwise leave the target to
    DNS, silently, and the NAME to nothing."""
    hosts = list(dict.fromkeys(t.host.lower().rstrip(".") for t in targets))
    for name in mapping:
        if name not in hosts:
            shown = ", ".join(hosts[:5]) + (f" and {len(hosts) - 5} more" if len(hosts) > 5 else "")
            hint = closest(name, hosts)
            raise UsageError(f"--resolve: {name} is not among the targets ({shown}), so it would "
                             "change nothing" + (f"; did you mean {hint}?" if hint else ""))


def cmd_check(args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO) -> int:
    from .pipeline import check_report, check_targets
    from .probe import Resolver, system_resolver
    from .x509.names import ip_literal

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
    for note in notes:
        say(err, f"origin-auditor: note: {note}")

    resolver: Resolver = system_resolver
    if mapping:
        def resolver(host: str, port: int) -> list[str]:
            # Only the targets --resolve names (checked above); the others are what DNS answers.
            key = host.lower().rstrip(".")
            return mapping[key] if key in mapping else system_resolver(host, port)

    results = check_targets(targets, resolver=resolver, trust=trust, timeout=timeout, at=at,
                            warn_days=args.warn_days, concurrency=args.concurrency,
                            on_progress=_progress_printer(err), allow=allow)
    return _emit(check_report(results), args.format, args.fail_on, out)


def _bundle_host(value: str, err: TextIO) -> str:
    """``--host``: the name CloudFront sends. Pasted as a URL (or with a port), the name counts
    and what was dropped is said; a plain name is taken as typed."""
    if "://" not in value and "/" not in value and ":" not in value:
        return value
    try:
        host, port, ignored = split_origin(value)
    except UsageError as e:
        raise UsageError(f"--host: {e}") from None
    dropped = " and ".join(x for x in (f"the port {port}" if port != 443 else "",
                                       f"the path {ignored}" if ignored else "") if x)
    if dropped:
        say(err, f"origin-auditor: note: {value}: {dropped} {'are' if ' and ' in dropped else 'is'} "
                 "ignored (--host is a name)")
    return host


def cmd_check_bundle(args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO) -> int:
    from .bundle import BundleError, check_bundle, fix_bundle
    from .pipeline import check_report, utcnow

    host = _bundle_host(args.host, err)
    trust = _trust(args.ca_bundle)
    at = parse_at(args.at) if args.at else utcnow()
    pem = _read_file(args.file, "FILE")
    key_pem = _read_file(args.key, "--key") if args.key else None
    try:
        checked = check_bundle(pem, host, trust=trust, at=at, key_pem=key_pem, warn_days=args.warn_days)
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


def _read_file(path: str, what: str, kind: str = "a certificate bundle") -> bytes:
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_INPUT_BYTES + 1)
    except OSError as e:
        raise UsageError(f"{what}: cannot read {path}: {e.strerror}") from None
    if len(data) > MAX_INPUT_BYTES:
        raise UsageError(f"{what}: {path} is larger than 10 MiB; not {kind}")
    return data


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
    from .archive import BUCKET_ENV

    bucket, source = flag, "--archive-bucket"
    if not flag:
        bucket, source = env.get(BUCKET_ENV) or None, env_named(BUCKET_ENV)
    if bucket is not None and (not _BUCKET_NAME.fullmatch(bucket) or ".." in bucket):
        raise UsageError(f"{source}: {bucket!r} is not an S3 bucket name (3 to 63 lowercase letters, "
                         "digits, dots and hyphens)")
    return bucket, source


def cmd_audit(args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO) -> int:
    from .audit import AuditOptions, run_audit

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

    from .archive import archive_report
    from .report_html import render_html

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
    from .notify import publish_report

    try:
        publish_report(report, topic_arn=topic, archive=archived)
    except Exception as e:
        say(err, f"origin-auditor: publish to {topic} (from {TOPIC_ENV}) failed: {e}")
        return EXIT_USAGE
    say(err, f"origin-auditor: published to {topic}")
    return EXIT_OK


# Subcommands implemented outside the runtime package: the entry point named after the command
# (in pyproject: demo = "origin_auditor_lab.demo:run_demo"). cli.py keeps the command's parser, so
# `--help` lists it and a plain install explains itself, but reaches the code only through package
# metadata: the runtime package never imports the lab, and the Lambda artifact leaves it out.
COMMANDS_GROUP = "origin_auditor.commands"


def cmd_demo(args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO) -> int:
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


_INVALID_CHOICE = re.compile(r"invalid choice: '(?P<value>.*)' \(choose from (?P<choices>.*)\)$", re.S)


def usage_problem(message: str) -> str:
    """argparse's error message in the CLI's words: ``--FLAG: problem`` as every other usage
    error says it (not ``argument --FLAG: ...``), a close choice suggested for an invalid one."""
    message = message.removeprefix("argument ")
    m = _INVALID_CHOICE.search(message)
    if m:
        hint = closest(m["value"], re.findall(r"'([^']*)'", m["choices"]))
        if hint:
            message = message[:-1] + f"; did you mean {hint!r}?)"
    return message


def unrecognized(extras: Sequence[str], parser: argparse.ArgumentParser) -> str:
    """The error for arguments no option takes, with the closest option for each unknown one."""
    options = [o for o in parser._option_string_actions if o.startswith("--")]
    hints = [h for h in (closest(x.split("=", 1)[0], options) for x in extras if x.startswith("-")) if h]
    tail = f" (did you mean {', '.join(dict.fromkeys(hints))}?)" if hints else ""
    return f"unrecognized arguments: {' '.join(extras)}{tail}"


def build_parser(out: TextIO | None = None, err: TextIO | None = None) -> argparse.ArgumentParser:
    """The parser; its help goes to ``out`` and its usage errors to ``err`` (default: sys's)."""

    class Parser(argparse.ArgumentParser):
        def __init__(self, *args: object, **kwargs: object) -> None:
            # No abbreviations: `--form` for `--format` works today and breaks the day an option
            # starting with the same letters is added; a pipeline's options must mean one thing.
            kwargs["allow_abbrev"] = False
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]

        # argparse writes to sys.stdout/sys.stderr itself; main(out=, err=) must own its output.
        def _print_message(self, message: str, file: object = None) -> None:
            if message:
                (err if file is sys.stderr and err else out if out else sys.stdout).write(message)

        def error(self, message: str) -> NoReturn:
            # One line, as every other usage error (README): no usage block above it. Outside
            # text (the value typed) escaped like every message line.
            self.exit(EXIT_USAGE, terminal(f"origin-auditor: error: {usage_problem(message)}") + "\n")

    parser = Parser(
        prog="origin-auditor",
        description="Find CloudFront custom origins whose TLS setup CloudFront will reject, "
                    "before CloudFront does.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)

    p = sub.add_parser("check", help="probe origins as CloudFront would and judge their TLS",
                       description="Connect to each origin the way CloudFront does (its ciphers, the "
                                   "allowed protocols, the SNI it sends) and judge the chain.")
    p.add_argument("origins", nargs="*", metavar="HOST[:PORT]",
                   help="an origin (a pasted https:// URL too: its path is ignored); - reads them "
                        "from standard input, one a line")
    p.add_argument("--targets-file", action="append", metavar="FILE",
                   help="read origins from FILE, one a line; # comments and blank lines allowed "
                        "(repeatable; - is standard input)")
    p.add_argument("--server-name", metavar="NAME",
                   help="name sent as SNI (default: HOST; with Host forwarding: the alias); a certificate "
                        "covering it or HOST passes, as at CloudFront")
    p.add_argument("--protocols", default="TLSv1.2", metavar="LIST",
                   help="OriginSslProtocols, comma-separated (default TLSv1.2)")
    p.add_argument("--resolve", action="append", default=[], metavar="NAME=IP[,IP]",
                   help="probe NAME, one of the targets, at these addresses instead of its DNS "
                        "answer (repeatable)")
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


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None,
         stdin: TextIO | None = None) -> int:
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
        args, extras = parser.parse_known_args(argv)
        if extras:
            # Reported here, not by argparse's top parser, which knows none of the command's
            # options to suggest from.
            commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
            parser.error(unrecognized(extras, commands.choices.get(args.command, parser)))
    except SystemExit as e:  # argparse already said it, in one line (Parser.error)
        return int(e.code) if isinstance(e.code, int) else EXIT_USAGE
    try:
        status = int(args.func(args, out, err, stdin or sys.stdin))
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
