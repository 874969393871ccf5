"""Property tests: on any subset and order of a known pool of certificates, judge_chain never
raises, and its order / completeness verdicts equal a brute-force reference computed from the
issuing relationships the test itself set up (not from signatures)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from origin_auditor.judge import judge_chain
from origin_auditor.rules import Code
from origin_auditor_lab.pki import NOW, Issued, issue

from .conftest import trust_of

GARBAGE = "garbage"


@dataclass(frozen=True)
class Pool:
    """Named certificates with their known parent (None = self-signed) and CA flag."""

    certs: dict[str, Issued]
    parent: dict[str, str | None]
    ca: dict[str, bool]
    trusted_root: str


@functools.cache
def pool() -> Pool:
    root = issue("P Root", ca=True, days=3650)
    i1 = issue("P Int 1", root, ca=True)
    i2 = issue("P Int 2", i1, ca=True)
    i3 = issue("P Int 3", i2, ca=True)
    leaf = issue("origin.test", i3)
    u_root = issue("U Root", ca=True)
    u_int = issue("U Int", u_root, ca=True)
    u_leaf = issue("other.test", u_int)
    certs = {"R": root, "I1": i1, "I2": i2, "I3": i3, "L": leaf, "UR": u_root, "UI": u_int, "UL": u_leaf}
    parent: dict[str, str | None] = {"R": None, "I1": "R", "I2": "I1", "I3": "I2", "L": "I3",
                                     "UR": None, "UI": "UR", "UL": "UI"}
    ca = {k: k not in ("L", "UL") for k in certs}
    return Pool(certs, parent, ca, "R")


def reference(sent: list[str], p: Pool) -> tuple[bool, bool]:
    """(wrong_order, incomplete) by the rules in the brief, from the known relationships."""
    if sent[:1] == [GARBAGE]:
        # The leaf is the first certificate sent (RFC 5246); when it does not parse there is
        # no leaf to build a path from, and no other certificate is judged in its place.
        return False, False
    sent = [s for s in sent if s != GARBAGE]
    if not sent:
        return False, False
    leaf = sent[0]
    if p.ca[leaf]:
        leaf = next((s for s in sent if not p.ca[s]), sent[0])
    path = [leaf]
    incomplete = False
    while True:
        cur = path[-1]
        if len(path) > 1 and cur == p.trusted_root:
            break
        up = p.parent[cur]
        if up is None:  # self-signed
            break
        if up in sent and up not in path:
            path.append(up)
            continue
        incomplete = up != p.trusted_root  # an unsent trust root still completes the path
        break
    wrong_order = sent[: len(path)] != path
    return wrong_order, incomplete


ISSUING_ORDER = ["L", "I3", "I2", "I1", "R"]
names = st.sampled_from([*ISSUING_ORDER, "UR", "UI", "UL", GARBAGE])


@st.composite
def chains(draw: st.DrawFn) -> list[str]:
    """A subset of the real chain, kept in issuing order half the time (so gaps in otherwise
    well-ordered chains are common), with duplicates / unrelated / garbage inserted anywhere."""
    core = draw(st.lists(st.sampled_from(ISSUING_ORDER), unique=True, min_size=1, max_size=5))
    core = (sorted(core, key=ISSUING_ORDER.index) if draw(st.booleans())
            else draw(st.permutations(core)))
    for extra in draw(st.lists(names, max_size=3)):
        core.insert(draw(st.integers(0, len(core))), extra)
    return core


@settings(derandomize=True, max_examples=150, deadline=None)
@given(sent=st.one_of(st.lists(names, min_size=1, max_size=8), chains()),
       server=st.sampled_from(["origin.test", "other.test", "ORIGIN.test.", "x.origin.test", "127.0.0.1"]))
def test_order_and_completeness_match_reference(sent: list[str], server: str) -> None:
    p = pool()
    chain = [b"\x30\x03\x02\x01\x00" if s == GARBAGE else p.certs[s].der for s in sent]
    findings = judge_chain(chain, server, trust=trust_of(p.certs["R"]), at=NOW)
    got = {f.code for f in findings}
    wrong_order, incomplete = reference(sent, p)
    assert (Code.CHAIN_WRONG_ORDER in got) == wrong_order, (sent, findings)
    assert (Code.CHAIN_INCOMPLETE in got) == incomplete, (sent, findings)
    assert (Code.CERT_MALFORMED in got) == (GARBAGE in sent)


@settings(derandomize=True, max_examples=60, deadline=None)
@given(blobs=st.lists(st.binary(max_size=64), min_size=1, max_size=4),
       keep=st.lists(st.sampled_from(["R", "I1", "L"]), max_size=3))
def test_arbitrary_bytes_never_raise(blobs: list[bytes], keep: list[str]) -> None:
    p = pool()
    chain = [*(p.certs[k].der for k in keep), *blobs]
    findings = judge_chain(chain, "origin.test", trust=trust_of(p.certs["R"]), at=NOW)
    assert all(f.message for f in findings)
