"""The CLI's values from the command line and the environment: hosts and URLs, ``--resolve``,
targets files, protocols, ``--at``, durations and limits, the trust store. A bad value is a
``UsageError`` naming the flag, the file and line, or the environment variable it came from."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import difflib
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, TextIO, TypeVar

from ..model import Target
from ..options import (
    ALLOW_ADDRESSES,
    FETCH_ISSUERS,
    LOOKBACK,
    TIMEOUT,
    Limit,
    Networks,
    OptionError,
    TextOption,
)
from ..rules import ORIGIN_SSL_PROTOCOLS
from .output import UsageError, say

if TYPE_CHECKING:  # imported lazily at run time: `--help` starts without cryptography
    from ..trust import TrustStore


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
    from ..x509.names import ip_literal  # the one IP-literal parser (loads cryptography: lazily)

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


def fetch_issuers(args: argparse.Namespace, env: Mapping[str, str]) -> bool:
    """Whether missing issuers are fetched: not with ``--no-fetch``, else ORIGIN_AUDITOR_FETCH
    (default on); a bad value is a usage error naming the variable."""
    if getattr(args, "no_fetch", False):
        return False
    try:
        return FETCH_ISSUERS.from_env(env)
    except OptionError as e:
        raise UsageError(f"{env_named(FETCH_ISSUERS.env)}: {e.problem}") from None


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



def _timeout(args: argparse.Namespace) -> float:
    return TIMEOUT.default if args.timeout is None else parse_timeout(args.timeout)



def _trust(ca_bundle: str | None) -> TrustStore:
    from ..trust import ENV_CA_BUNDLE, TrustStoreError, load_trust_store
    try:
        return load_trust_store(ca_bundle)
    except (TrustStoreError, OSError) as e:
        source = ("--ca-bundle" if ca_bundle else env_named(ENV_CA_BUNDLE) if os.environ.get(ENV_CA_BUNDLE)
                  else "trust store")
        raise UsageError(f"{source}: {e}") from None



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
    from ..judge.discovery import protocol_findings

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



def _read_file(path: str, what: str, kind: str = "a certificate bundle") -> bytes:
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_INPUT_BYTES + 1)
    except OSError as e:
        raise UsageError(f"{what}: cannot read {path}: {e.strerror}") from None
    if len(data) > MAX_INPUT_BYTES:
        raise UsageError(f"{what}: {path} is larger than 10 MiB; not {kind}")
    return data
