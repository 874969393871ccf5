"""A CLI a pipeline can script (issue 11): ``--resolve`` only for the targets, origins pasted as
URLs, targets from a file or standard input, no abbreviations, one-line usage errors with a
suggestion, legacy protocols flagged by ``check`` as by ``audit``, and environment variables named
as such in errors. In-process through ``main()`` against real loopback servers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from origin_auditor_lab.pki import Pki, pem_bundle
from origin_auditor_lab.servers import TlsServer

from .conftest import CliRunner

RESOLVE = ("--resolve", "origin.test=127.0.0.1")


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("origin-auditor: error: "), err
    return lines[0]


# ---------------------------------------------------------------- --resolve names a target


def test_resolve_for_a_name_that_is_not_a_target_is_a_usage_error(cli: CliRunner, pki: Pki,
                                                                  ca_file: str) -> None:
    # Given a typo in --resolve, the origin would silently be probed where DNS points: refused,
    # before anything connects.
    with TlsServer(pki.chain()) as srv:
        run = cli("check", f"origin.test:{srv.port}", "--resolve", "orgin.test=127.0.0.1",
                  "--ca-bundle", ca_file)
    assert run.code == 2
    assert run.out == ""
    line = one_error_line(run.err)
    assert "--resolve: orgin.test is not among the targets" in line
    assert "did you mean origin.test?" in line
    assert srv.handshakes == 0


def test_resolve_names_one_target_among_several(cli: CliRunner, pki: Pki, ca_file: str) -> None:
    with TlsServer(pki.chain()) as srv:
        run = cli("check", f"origin.test:{srv.port}", "127.0.0.1:1", "--resolve", "Origin.Test.=127.0.0.1",
                  "--ca-bundle", ca_file)
    assert re.search(rf"^PASS\s+origin\.test:{srv.port}$", run.out, re.M), run.out


# ---------------------------------------------------------------- URLs as people paste them


def test_a_pasted_url_is_the_origin_and_its_path_is_ignored_with_a_note(cli: CliRunner, pki: Pki,
                                                                        ca_file: str) -> None:
    with TlsServer(pki.chain()) as srv:
        run = cli("check", f"https://origin.test:{srv.port}/healthz?full=1",
                  "--resolve", f"https://origin.test:{srv.port}/=127.0.0.1", "--ca-bundle", ca_file)
    assert run.code == 0, run
    assert re.search(rf"^PASS\s+origin\.test:{srv.port}$", run.out, re.M), run.out
    assert run.err.splitlines() == [
        f"origin-auditor: note: https://origin.test:{srv.port}/healthz?full=1: the path "
        "/healthz?full=1 is ignored (an origin is a host and a port)"]


def test_check_bundle_host_accepts_a_url(cli: CliRunner, pki2: Pki, ca2_file: str, tmp_path: Path) -> None:
    bundle = tmp_path / "good.pem"
    bundle.write_bytes(pem_bundle(pki2.chain()))
    run = cli("check-bundle", str(bundle), "--host", "https://deep.test/index.html", "--ca-bundle", ca2_file)
    assert run.code == 0, run
    assert re.search(r"^PASS\s+deep\.test:443$", run.out, re.M), run.out
    assert run.err.splitlines() == ["origin-auditor: note: https://deep.test/index.html: the path "
                                    "/index.html is ignored (--host is a name)"]


# ---------------------------------------------------------------- targets from a file or stdin


TARGETS = """\
# origins behind shop.example.com
origin.test:{good}

   origin.test:{bad}   # the one with the missing intermediate
"""


def test_targets_from_a_file_with_comments_and_blank_lines(cli: CliRunner, pki: Pki, ca_file: str,
                                                           tmp_path: Path) -> None:
    with TlsServer(pki.chain()) as good, TlsServer([pki.leaf]) as bad:
        listing = tmp_path / "origins.txt"
        listing.write_text(TARGETS.format(good=good.port, bad=bad.port))
        run = cli("check", "--targets-file", str(listing), *RESOLVE, "--ca-bundle", ca_file)
    assert run.code == 1, run
    assert re.search(rf"^PASS\s+origin\.test:{good.port}$", run.out, re.M), run.out
    assert re.search(rf"^FAIL\s+origin\.test:{bad.port}\s+CHAIN_INCOMPLETE$", run.out, re.M), run.out
    assert "2 origin(s): 1 fail, 0 warn, 1 pass" in run.out


def test_targets_from_standard_input_beside_arguments(cli: CliRunner, pki: Pki, ca_file: str) -> None:
    with TlsServer(pki.chain()) as good, TlsServer([pki.leaf]) as bad:
        run = cli("check", f"origin.test:{good.port}", "-", *RESOLVE, "--ca-bundle", ca_file,
                  "--format", "json", stdin=f"# from a pipeline\norigin.test:{bad.port}\n")
    assert run.code == 1, run
    assert [r["target"]["port"] for r in run.json()["results"]] == [good.port, bad.port]


def test_a_bad_line_names_the_file_and_the_line(cli: CliRunner, tmp_path: Path) -> None:
    listing = tmp_path / "origins.txt"
    listing.write_text("# ok\norigin.test\n\nhttp://origin.test\n")
    run = cli("check", "--targets-file", str(listing))
    assert run.code == 2
    assert one_error_line(run.err) == (f"origin-auditor: error: {listing}:4: 'http://origin.test': "
                                       "only https:// origins are checked")


def test_a_bad_line_on_standard_input_is_named_too(cli: CliRunner) -> None:
    run = cli("check", "-", stdin="origin.test\nbad host name\n")
    assert run.code == 2
    assert one_error_line(run.err) == ("origin-auditor: error: <stdin>:2: 'bad host name': not a host "
                                       "name or IP address")


@pytest.mark.parametrize(("argv", "stdin"), [
    (["check"], ""),                                # nothing at all
    (["check", "-"], "# only comments\n\n"),        # an empty list from a pipeline is not a pass
])
def test_no_targets_at_all_is_a_usage_error(cli: CliRunner, argv: list[str], stdin: str) -> None:
    run = cli(*argv, stdin=stdin)
    assert run.code == 2
    assert "no origins to check" in one_error_line(run.err)


def test_an_unreadable_targets_file_is_named(cli: CliRunner, tmp_path: Path) -> None:
    run = cli("check", "--targets-file", str(tmp_path / "missing.txt"))
    assert run.code == 2
    assert one_error_line(run.err).startswith(f"origin-auditor: error: --targets-file: cannot read "
                                              f"{tmp_path / 'missing.txt'}")


# ---------------------------------------------------------------- no abbreviations, suggestions


@pytest.mark.parametrize(("args", "expected"), [
    (["check", "origin.test", "--form", "json"],
     "unrecognized arguments: --form json (did you mean --format?)"),
    (["check", "origin.test", "--server", "x"],
     "unrecognized arguments: --server x (did you mean --server-name?)"),
    (["check", "origin.test", "--protocol=TLSv1"], "unrecognized arguments: --protocol=TLSv1 (did you mean "
                                                  "--protocols?)"),
    (["audit", "--distribution", "E1"], "unrecognized arguments: --distribution E1 (did you mean "
                                        "--distribution-id?)"),
    (["chekc", "origin.test"], "COMMAND: invalid choice: 'chekc' (choose from 'check', "
                               "'check-bundle', 'audit', 'demo'; did you mean 'check'?)"),
    (["check", "origin.test", "--format", "jsn"], "--format: invalid choice: 'jsn' (choose from "),
])
def test_no_abbreviations_and_the_closest_option_is_suggested(cli: CliRunner, args: list[str],
                                                              expected: str) -> None:
    run = cli(*args)
    assert run.code == 2
    assert run.out == ""
    assert expected in one_error_line(run.err)


def test_an_unknown_option_nothing_resembles_gets_no_suggestion(cli: CliRunner) -> None:
    run = cli("check", "origin.test", "--zzzzzz")
    assert one_error_line(run.err) == "origin-auditor: error: unrecognized arguments: --zzzzzz"


# ---------------------------------------------------------------- legacy protocols in check


def test_check_flags_legacy_protocols_as_audit_does(cli: CliRunner, pki: Pki, ca_file: str) -> None:
    # Given an origin that speaks TLS 1.2: the handshake passes, but the configuration allows
    # SSLv3 to TLSv1.1 - audit reports LEGACY_PROTOCOL for that, and so does check.
    with TlsServer(pki.chain()) as srv:
        run = cli("check", f"origin.test:{srv.port}", *RESOLVE, "--ca-bundle", ca_file,
                  "--protocols", "SSLv3,TLSv1,TLSv1.1,TLSv1.2", "--format", "json")
    assert run.code == 0, run.out  # a warning
    [result] = run.json()["results"]
    assert result["verdict"] == "warn"
    [legacy] = [f for f in result["findings"] if f["code"] == "LEGACY_PROTOCOL"]
    assert legacy["severity"] == "warn"
    assert legacy["message"] == f"OriginSslProtocols of origin.test:{srv.port} allows SSLv3, TLSv1, TLSv1.1."


def test_check_of_an_sslv3_only_origin_says_what_audit_says(cli: CliRunner, pki: Pki, ca_file: str) -> None:
    with TlsServer(pki.chain()) as srv:
        run = cli("check", f"origin.test:{srv.port}", *RESOLVE, "--ca-bundle", ca_file,
                  "--protocols", "SSLv3", "--format", "json")
    assert run.code == 1
    [result] = run.json()["results"]
    assert [f["code"] for f in result["findings"]] == ["LEGACY_PROTOCOL", "NO_COMMON_PROTOCOL"]


def test_check_with_only_modern_protocols_has_no_legacy_finding(cli: CliRunner, pki: Pki,
                                                                ca_file: str) -> None:
    with TlsServer(pki.chain()) as srv:
        run = cli("check", f"origin.test:{srv.port}", *RESOLVE, "--ca-bundle", ca_file,
                  "--protocols", "TLSv1.2")
    assert run.code == 0
    assert "LEGACY_PROTOCOL" not in run.out


# ---------------------------------------------------------------- environment variables named


def test_a_bad_ca_bundle_in_the_environment_is_named_as_the_environment(
        cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORIGIN_AUDITOR_CA_BUNDLE", str(tmp_path / "missing.pem"))
    run = cli("check", "origin.test")
    assert run.code == 2
    line = one_error_line(run.err)
    assert line.startswith("origin-auditor: error: ORIGIN_AUDITOR_CA_BUNDLE (environment): ")
    assert "--ca-bundle" not in line


def test_the_ca_bundle_flag_is_named_when_it_was_the_flag(cli: CliRunner, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORIGIN_AUDITOR_CA_BUNDLE", str(tmp_path / "also-missing.pem"))
    run = cli("check", "origin.test", "--ca-bundle", str(tmp_path / "missing.pem"))
    assert one_error_line(run.err).startswith("origin-auditor: error: --ca-bundle: ")


def test_a_bad_allow_addresses_variable_is_named_as_the_environment(
        cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORIGIN_AUDITOR_ALLOW_ADDRESSES", "nope")
    run = cli("check", "origin.test")
    assert one_error_line(run.err).startswith(
        "origin-auditor: error: ORIGIN_AUDITOR_ALLOW_ADDRESSES (environment): 'nope'")


def test_a_malformed_topic_arn_in_the_environment_is_named_before_anything_runs(
        cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINDINGS_TOPIC_ARN", "findings")
    run = cli("audit", "--publish")
    assert run.code == 2
    assert one_error_line(run.err) == ("origin-auditor: error: FINDINGS_TOPIC_ARN (environment): 'findings' "
                                       "is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)")


@pytest.mark.parametrize(("how", "named"), [("env", "REPORTS_BUCKET_NAME (environment)"),
                                            ("flag", "--archive-bucket")])
def test_a_malformed_bucket_name_is_named_where_it_came_from(
        cli: CliRunner, monkeypatch: pytest.MonkeyPatch, how: str, named: str) -> None:
    monkeypatch.delenv("REPORTS_BUCKET_NAME", raising=False)
    if how == "env":
        monkeypatch.setenv("REPORTS_BUCKET_NAME", "Reports_Bucket")
        run = cli("audit")
    else:
        run = cli("audit", "--archive-bucket", "Reports_Bucket")
    assert run.code == 2
    assert one_error_line(run.err) == (f"origin-auditor: error: {named}: 'Reports_Bucket' is not an S3 "
                                       "bucket name (3 to 63 lowercase letters, digits, dots and hyphens)")
