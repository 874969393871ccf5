"""The trust store: certifi by default, a file or $ORIGIN_AUDITOR_CA_BUNDLE instead."""

from __future__ import annotations

from pathlib import Path

import certifi
import pytest

from origin_auditor.judge import judge_chain
from origin_auditor.rules import Code
from origin_auditor.trust import ENV_CA_BUNDLE, TrustStoreError, load_trust_store
from origin_auditor_lab.pki import NOW, Pki

from .conftest import ders, trust_of


@pytest.fixture(autouse=True)
def _no_env_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_CA_BUNDLE, raising=False)


def test_default_store_is_certifi_and_cached() -> None:
    store = load_trust_store()
    assert store.source.startswith("certifi ") and "Mozilla" in store.source
    assert len(store.roots) > 50
    assert load_trust_store() is store


def test_generated_chain_is_untrusted_under_mozilla_roots(pki1: Pki) -> None:
    store = load_trust_store()
    with_root = {f.code for f in judge_chain(ders(*pki1.fullchain()), "origin.test", trust=store, at=NOW)}
    without_root = {f.code for f in judge_chain(ders(*pki1.chain()), "origin.test", trust=store, at=NOW)}
    assert Code.CHAIN_UNTRUSTED_ROOT in with_root
    assert Code.CHAIN_INCOMPLETE in without_root  # the private root is simply not there


def test_a_mozilla_root_is_recognised() -> None:
    store = load_trust_store()
    root = store.roots[0]
    assert store.is_trusted_root(root)
    assert store.find_roots_by_subject(root.subject)


def test_env_bundle_replaces_certifi(pki1: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = tmp_path / "roots.pem"
    bundle.write_bytes(pki1.root_pem)
    monkeypatch.setenv(ENV_CA_BUNDLE, str(bundle))
    store = load_trust_store()
    assert store.source == str(bundle) and len(store.roots) == 1
    assert judge_chain(ders(*pki1.chain()), "origin.test", trust=store, at=NOW) == []


def test_explicit_bundle_beats_env(pki1: Pki, pki2: Pki, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    env_bundle, arg_bundle = tmp_path / "env.pem", tmp_path / "arg.pem"
    env_bundle.write_bytes(pki1.root_pem)
    arg_bundle.write_bytes(pki2.root_pem)
    monkeypatch.setenv(ENV_CA_BUNDLE, str(env_bundle))
    store = load_trust_store(str(arg_bundle))
    assert store.roots == (pki2.root.cert,)


def test_edited_bundle_is_reread(pki1: Pki, pki2: Pki, tmp_path: Path) -> None:
    bundle = tmp_path / "roots.pem"
    bundle.write_bytes(pki1.root_pem)
    assert load_trust_store(str(bundle)).roots == (pki1.root.cert,)
    bundle.write_bytes(pki1.root_pem + pki2.root_pem)
    assert len(load_trust_store(str(bundle)).roots) == 2


@pytest.mark.parametrize("content", [b"", b"hello, not a PEM\n", b"-----BEGIN CERTIFICATE-----\nnope\n"
                                     b"-----END CERTIFICATE-----\n"])
def test_unusable_bundle_is_a_one_line_error(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_bytes(content)
    with pytest.raises(TrustStoreError) as exc:
        load_trust_store(str(bad))
    assert isinstance(exc.value, ValueError)
    assert "\n" not in str(exc.value) and str(bad) in str(exc.value)


def test_missing_bundle_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(TrustStoreError, match="cannot read CA bundle"):
        load_trust_store(str(tmp_path / "absent.pem"))


def test_same_name_other_key_is_not_a_trusted_root(pki1: Pki) -> None:
    impostor = Pki()  # same root name, other key
    store = trust_of(pki1.root)
    assert store.is_trusted_root(pki1.root.cert)
    assert not store.is_trusted_root(impostor.root.cert)
    assert store.find_roots_by_subject(impostor.root.cert.subject) == (pki1.root.cert,)


def test_certifi_path_is_what_default_loads() -> None:
    assert Path(certifi.where()).is_file()


def test_a_bundle_rewritten_with_the_same_size_and_timestamp_is_read_again(tmp_path: Path) -> None:
    import os

    from origin_auditor.trust import load_trust_store
    from origin_auditor_lab.pki import Pki, pem_bundle

    a, b = Pki(), Pki()
    original, replacement = pem_bundle([a.root]), pem_bundle([b.root])
    size = max(len(original), len(replacement))  # pad to one size: text after a PEM block is ignored
    original, replacement = original.ljust(size, b"\n"), replacement.ljust(size, b"\n")
    path = tmp_path / "roots.pem"
    path.write_bytes(original)
    first = load_trust_store(str(path))
    stat = path.stat()
    path.write_bytes(replacement)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    second = load_trust_store(str(path))
    assert first.roots[0] == a.root.cert
    assert second.roots[0] == b.root.cert
