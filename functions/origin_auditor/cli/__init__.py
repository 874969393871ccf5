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
import io
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn, TextIO

from .. import __version__
from ..options import ALLOW_ADDRESSES, CONCURRENCY, FETCH_ISSUERS, LOOKBACK, TIMEOUT, WARN_DAYS
from ..present.text import terminal
from ..report import FORMATS
from .args import (
    allowed_addresses,
    argparse_type,
    closest,
    env_named,
    parse_at,
    parse_duration,
    parse_host_port,
    parse_limited,
    parse_protocols,
    parse_resolve,
    parse_timeout,
    split_origin,
    target_lines,
)
from .commands import cmd_audit, cmd_check, cmd_check_bundle
from .output import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, UsageError, say, terminal_style

__all__ = [
    "COMMANDS_GROUP",
    "EXIT_FINDINGS",
    "EXIT_OK",
    "EXIT_USAGE",
    "UsageError",
    "allowed_addresses",
    "argparse_type",
    "build_parser",
    "closest",
    "cmd_audit",
    "cmd_check",
    "cmd_check_bundle",
    "cmd_demo",
    "env_named",
    "main",
    "parse_at",
    "parse_duration",
    "parse_host_port",
    "parse_limited",
    "parse_protocols",
    "parse_resolve",
    "parse_timeout",
    "say",
    "split_origin",
    "target_lines",
    "terminal_style",
    "unrecognized",
    "usage_problem",
]

# Subcommands implemented outside the runtime package: the entry point named after the command
# (in pyproject: demo = "origin_auditor_lab.demo:run_demo"). This package keeps the command's parser,
# so `--help` lists it and a plain install explains itself, but reaches the code only through package
# metadata: the runtime package never imports the lab, and the Lambda artifact leaves it out.
# `demo` lives here, beside its parser, and reads COMMANDS_GROUP from this module's namespace.
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
    p.add_argument(FETCH_ISSUERS.flag, dest="no_fetch", action="store_true",
                   help="do not fetch a missing issuer through its caIssuers URL to tell a missing "
                        "intermediate from a private CA (fetching never changes a verdict; also "
                        f"{FETCH_ISSUERS.env}=off)")
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
    p.add_argument("--write-chain", metavar="OUT.pem",
                   help="write the chain the origin should send (leaf, then its intermediates in "
                        "issuing order: sent ones reordered, missing ones fetched; no root) to OUT.pem; "
                        "refuses when no path to a trusted root is found (one origin only)")
    _common(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("check-bundle", help="judge a PEM bundle offline before deploying it",
                       description="Judge a certificate bundle file as CloudFront would judge it when "
                                   "served; --fix writes it in the order CloudFront needs.")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--host", required=True, metavar="NAME", help="the name CloudFront will send")
    p.add_argument("--key", metavar="KEY.pem", help="check this private key belongs to the leaf")
    p.add_argument("--fix", metavar="OUT.pem",
                   help="write leaf + intermediates in issuing order to OUT.pem (never FILE itself): "
                        "duplicates, strays and the root removed, missing intermediates fetched through "
                        "their caIssuers URLs; refuses when no path to a trusted root is found")
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
                   help="write the full JSON report and its HTML page to s3://BUCKET/reports/YYYY/MM/DD/ "
                        "(default: REPORTS_BUCKET_NAME, the stack's ReportsBucketName); --publish links it")
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
