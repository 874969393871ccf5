"""The tuning options both entry points take, defined once: names, limits, defaults, and the words
for a value outside them.

The CLI (``--timeout 2``) and the Lambda's manual event (``{"timeout": 2}``) accept the same values
and say the same thing about a bad one. Each surface keeps its own way of naming the option (a flag,
a JSON key) and of reporting (the CLI: one line, exit 2; the event: ``EventError`` listing every
problem), so an ``OptionError`` carries only the words *after* the name (``problem``):

    CLI    origin-auditor: error: --timeout: must be between 0.5 and 60 seconds, got 120
    event  timeout must be between 0.5 and 60 seconds, got 120

The one name that differs is the lookback: the CLI takes a duration (``90m``, ``3h``, ``1d``), the
event whole minutes (``lookback_minutes``), because JSON has no duration type.

README's "Option limits" table is checked against ``LIMITS`` (tests/unit/test_options.py).

``ALLOW_ADDRESSES`` is no limit but a switch: the address ranges a lab opens for probing, which are
otherwise findings (ADDRESS_NOT_PUBLIC). The CLI takes it as ``--allow-addresses`` and from the
environment (``ORIGIN_AUDITOR_ALLOW_ADDRESSES``), the Lambda from its environment only: never from
an event, so whoever may invoke the function cannot point it at internal addresses.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Generic, Protocol, TypeVar

from .rules import DEFAULT_TIMEOUT_SECONDS, EXPIRY_WARN_DAYS

N = TypeVar("N", int, float)
T_co = TypeVar("T_co", covariant=True)


class OptionError(ValueError):
    """A value an option does not take. ``problem``: the words after the option's name;
    ``option``: the name to put before them when there is no surface-specific one."""

    def __init__(self, problem: str, option: str = "") -> None:
        self.problem = problem
        self.option = option
        super().__init__(f"{option} {problem}" if option else problem)


def number_text(value: float) -> str:
    """``10`` not ``10.0``; ``0.5``; ``nan``: how limits and offending values are shown."""
    if isinstance(value, int):
        return str(value)
    return str(int(value)) if value.is_integer() else repr(value)


def span_text(delta: dt.timedelta) -> str:
    """A duration in the largest whole unit: ``3 hours``, ``90 minutes``, ``1 day``, ``10 seconds``."""
    seconds = delta.total_seconds()
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{number_text(seconds)} second{'' if seconds == 1 else 's'}"


def json_type_name(value: object) -> str:
    """What a JSON value is, for an event problem: ``string '10'``, ``boolean``, ``null``."""
    name = {type(None): "null", bool: "boolean", int: "integer", float: "number", str: "string",
            list: "list", dict: "object"}.get(type(value), type(value).__name__)
    shown = isinstance(value, str | int | float) and not isinstance(value, bool)
    return f"{name} {short_repr(value)}" if shown else name


def short_repr(value: object, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters: events may carry anything, at any length."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class TextOption(Protocol[T_co]):
    """An option as a command line gives it: a flag, and text to parse (``Limit``, ``DurationLimit``)."""

    @property
    def flag(self) -> str: ...

    def from_text(self, text: str) -> T_co: ...


@dataclass(frozen=True)
class Limit(Generic[N]):
    """A bounded number option.

    key: the manual event's key; flag: the CLI option. low / high: inclusive bounds.
    default: the value when the option is not given. kind: ``int`` or ``float``.
    unit: what the number counts, for messages and docs (``seconds``; empty for a plain count).
    """

    key: str
    flag: str
    low: N
    high: N
    default: N
    kind: type[N]
    unit: str = ""

    @property
    def expected(self) -> str:
        """What a value must be, as a message says it: ``an integer``, ``a number of seconds``."""
        return "an integer" if self.kind is int else f"a number of {self.unit}"

    def _with_unit(self, text: str) -> str:
        return f"{text} {self.unit}" if self.unit else text

    @property
    def range_text(self) -> str:
        """``0.5 to 60 seconds``: the accepted range, as README's table shows it."""
        return self._with_unit(f"{number_text(self.low)} to {number_text(self.high)}")

    @property
    def default_text(self) -> str:
        return self._with_unit(number_text(self.default))

    def check(self, value: N) -> N:
        """``value`` if inside the limits, else ``OptionError``. NaN is outside every range."""
        if not self.low <= value <= self.high:
            raise OptionError(f"must be between {number_text(self.low)} and "
                              f"{self._with_unit(number_text(self.high))}, got {number_text(value)}",
                              self.key)
        return value

    def from_text(self, text: str) -> N:
        """Parse and check a command-line value."""
        try:
            # int() also takes "1_000" and " 7 "; a count on a command line is plain digits.
            if self.kind is int and not re.fullmatch(r"[+-]?\d+", text):
                raise ValueError(text)
            value = self.kind(text)
        except ValueError:
            raise OptionError(f"must be {self.expected}, got {short_repr(text)}", self.key) from None
        return self.check(value)

    def from_json(self, value: object) -> N:
        """Check a manual event's value. ``true`` is not 1: bool is an int in Python, not in intent."""
        allowed = (int,) if self.kind is int else (int, float)
        if isinstance(value, bool) or not isinstance(value, allowed):
            raise OptionError(f"must be {self.expected}, got {json_type_name(value)}", self.key)
        return self.check(self.kind(value))


@dataclass(frozen=True)
class DurationLimit:
    """A bounded duration option: the CLI takes ``90m``/``3h``/``1d``/seconds, the event whole
    minutes under ``key``. Fields as ``Limit``'s."""

    key: str
    flag: str
    low: dt.timedelta
    high: dt.timedelta
    default: dt.timedelta

    expected: ClassVar[str] = "a duration like 90m, 3h or 1d"
    _TEXT: ClassVar[re.Pattern[str]] = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
    _UNIT_SECONDS: ClassVar[dict[str, int]] = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}

    @property
    def range_text(self) -> str:
        return f"{span_text(self.low)} to {span_text(self.high)}"

    @property
    def default_text(self) -> str:
        return span_text(self.default)

    def check(self, value: dt.timedelta) -> dt.timedelta:
        if not self.low <= value <= self.high:
            raise OptionError(f"must be between {span_text(self.low)} and {span_text(self.high)}, "
                              f"got {span_text(value)}", self.key)
        return value

    def from_text(self, text: str) -> dt.timedelta:
        m = self._TEXT.match(text)
        if not m:
            raise OptionError(f"must be {self.expected}, got {short_repr(text)}", self.key)
        return self.check(dt.timedelta(seconds=float(m.group(1)) * self._UNIT_SECONDS[m.group(2)]))

    def from_json(self, value: object) -> dt.timedelta:
        if isinstance(value, bool) or not isinstance(value, int):
            raise OptionError(f"must be an integer, got {json_type_name(value)}", self.key)
        return self.check(dt.timedelta(minutes=value))


# The limits, chosen once for both an on-call laptop and the Lambda (README: "Option limits").

# Per connect and per handshake. Below half a second a healthy origin across an ocean (a TCP
# round trip plus two TLS round trips at ~150 ms each) is reported as a timeout. Above a minute
# nothing is learned: CloudFront gives up connecting after its ConnectionTimeout (1-10 s) and
# waits at most its default origin response timeout (30 s, 60 without a quota increase); and a
# stalling origin costs every one of its addresses (up to 16) this long inside a 10-minute Lambda.
TIMEOUT = Limit(key="timeout", flag="--timeout", low=0.5, high=60.0, default=DEFAULT_TIMEOUT_SECONDS,
                kind=float, unit="seconds")

# Addresses probed at once. Each holds one socket (one attempt at a time) and no thread: the
# probe drives every handshake from one selector loop (probe.probe_targets), so a stalled origin
# costs a socket and a timer until its timeout, not a worker. The bound is the process's file
# descriptors, not threads: 256 lets a quarter of a 1,000-origin account stall without holding
# the rest up (bench_soak), stays inside the Lambda's 1,024 descriptors (connection_cap below:
# 896) and keeps the burst one audit sends to an origin many distributions share moderate; the
# handshakes' CPU is one thread's whatever the number. The probe opens min(concurrency,
# connection_cap): 192 under macOS's default `ulimit -n` of 256, never "Too many open files".
CONCURRENCY = Limit(key="concurrency", flag="--concurrency", low=1, high=256, default=256, kind=int)

# The CloudWatch window the classification reads. correlate asks for one datapoint per
# distribution with a period of the whole window in whole minutes; CloudWatch serves 1-minute
# multiples only for data younger than 15 days, so the window must stay well inside that. A week
# covers a weekly traffic cycle; a longer window dilutes a current outage's error rate until it
# reads as LATENT. Under 5 minutes CloudFront's metrics (published with a few minutes' delay) are
# often not there yet and a busy distribution would read as IDLE.
LOOKBACK = DurationLimit(key="lookback_minutes", flag="--lookback", low=dt.timedelta(minutes=5),
                         high=dt.timedelta(days=7), default=dt.timedelta(hours=3))

# Expiry warning horizon: 0 turns CERT_EXPIRING_SOON off; ten years is beyond any certificate
# a public CA issues today.
WARN_DAYS = Limit(key="warn_days", flag="--warn-days", low=0, high=3650, default=EXPIRY_WARN_DAYS,
                  kind=int, unit="days")

LIMITS: tuple[Limit[float] | Limit[int] | DurationLimit, ...] = (TIMEOUT, CONCURRENCY, LOOKBACK, WARN_DAYS)

# Distributions one request may name (the manual event's distribution_ids, the CLI's repeated
# --distribution-id). Each named distribution is one GetDistribution call, made one after another
# before any probe starts, inside the Lambda's time; a list this long is a whole-account audit in
# disguise, which reads the same configurations a hundred per ListDistributions page. An
# incident names a handful. (An alarm names at most its metrics' distributions: ten.)
MAX_DISTRIBUTION_IDS = 100


def check_distribution_count(count: int) -> int:
    """``count`` if a request may name that many distributions, else ``OptionError`` whose
    problem is the words after the option's name (``--distribution-id`` / ``distribution_ids``)."""
    if count > MAX_DISTRIBUTION_IDS:
        raise OptionError(f"must name at most {MAX_DISTRIBUTION_IDS} distributions, got {count}; "
                          "to audit more, name none (every distribution in the account)",
                          "distribution_ids")
    return count

DEFAULT_CONCURRENCY: int = CONCURRENCY.default


# File descriptors left for everything but the probe's sockets: the Lambda runtime's own
# connection and logs, boto3's pools (10 per client, five clients), the DNS lookups in flight
# (probe.DNS_WORKERS, a UDP socket each), the trust store being read. At least this many, and
# an eighth of the limit when that is more.
FD_HEADROOM = 64


def connection_cap(nofile: int | None) -> int:
    """The most sockets the probe holds at once under a soft RLIMIT_NOFILE of ``nofile``: the
    limit less max(``FD_HEADROOM``, an eighth of it), never less than half of it, at least 1
    (Lambda's 1,024 -> 896; macOS's default 256 -> 192). ``None`` (no limit): the option's own
    bound, ``CONCURRENCY.high``. The probe opens min(concurrency, this)."""
    if nofile is None:
        return CONCURRENCY.high
    headroom = max(FD_HEADROOM, nofile // 8)
    return max(1, nofile - headroom, nofile // 2)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Networks = tuple[Network, ...]


@dataclass(frozen=True)
class NetworksOption:
    """A comma-separated list of CIDRs (``127.0.0.0/8,::1/128``; a bare address is a /32 or /128).

    env: the environment variable; flag: the CLI option. ``""`` (or only commas) is no range.
    A CIDR with host bits set is refused rather than widened: ``127.0.0.1/8`` is a typo for
    either ``127.0.0.1`` or ``127.0.0.0/8``, and the difference is what gets probed.
    """

    env: str
    flag: str

    expected: ClassVar[str] = "a CIDR (e.g. 10.0.0.0/8 or fd00::/8)"

    def from_text(self, text: str) -> Networks:
        """Parse a command-line (or environment) value; ``OptionError`` names the bad item."""
        out: dict[Network, None] = {}
        for item in (part.strip() for part in text.split(",")):
            if item:
                out.setdefault(self._network(item), None)
        return tuple(out)

    def from_env(self, env: Mapping[str, str]) -> Networks:
        """The ranges ``env`` opens (none when the variable is unset or empty)."""
        try:
            return self.from_text(env.get(self.env, ""))
        except OptionError as e:
            raise OptionError(e.problem, self.env) from None

    def _network(self, item: str) -> Network:
        try:
            return ipaddress.ip_network(item, strict=True)
        except ValueError:
            pass
        try:
            widened = ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise OptionError(f"{short_repr(item)} is not {self.expected}", self.flag) from None
        raise OptionError(f"{short_repr(item)} has host bits set (the network is {widened})", self.flag)


# Nothing is opened by default: the auditor sees what CloudFront sees. The demo and the tests
# open 127.0.0.0/8,::1/128 (origin_auditor_lab.LOOPBACK_CIDRS), where the lab's servers listen.
ALLOW_ADDRESSES = NetworksOption(env="ORIGIN_AUDITOR_ALLOW_ADDRESSES", flag="--allow-addresses")


# Fetching a missing issuer through its AIA caIssuers URL, to tell a missing intermediate from a
# private CA (``fetch``, ``x509.issuers``). Diagnosis only: CloudFront never fetches, so nothing
# fetched changes a verdict. The bounds: a real intermediate is 1-2 KiB and a CA's PKCS#7 bundle a
# few KiB, so 64 KiB is ample and caps what a hostile URL can make the run hold; 3 s per fetch
# (resolution, connect and answer together) because a CA's repository answers in milliseconds and
# each fetch costs an audit's worker that long; 4 fetches, because Web PKI paths have at most two
# or three intermediates above a leaf, and a longer trail is a loop or a maze.
FETCH_TIMEOUT_SECONDS = 3.0
FETCH_MAX_BYTES = 64 * 1024
FETCH_MAX_HOPS = 4


@dataclass(frozen=True)
class Switch:
    """An on/off option: ``flag`` turns it off on the command line, ``env`` in the environment
    (``off``/``false``/``0``/``no`` or ``on``/``true``/``1``/``yes``; empty or unset: ``default``)."""

    env: str
    flag: str
    default: bool

    _ON: ClassVar[frozenset[str]] = frozenset({"on", "true", "1", "yes"})
    _OFF: ClassVar[frozenset[str]] = frozenset({"off", "false", "0", "no"})

    def from_env(self, env: Mapping[str, str]) -> bool:
        """The value ``env`` sets; ``OptionError`` naming the variable for any other word."""
        raw = env.get(self.env, "").strip().lower()
        if not raw:
            return self.default
        if raw in self._ON:
            return True
        if raw in self._OFF:
            return False
        raise OptionError(f"must be on or off, got {short_repr(raw)}", self.env)


# On by default in the CLI and the Lambda: the diagnosis it buys (which certificate is missing, or
# that the CA is private) is the fix. Off for a run that must make no connection but the probes'.
FETCH_ISSUERS = Switch(env="ORIGIN_AUDITOR_FETCH", flag="--no-fetch", default=True)
