"""The raw server-flight parser the probe uses to capture chains exactly as sent: record
fragmentation, caps, and what it refuses to call TLS."""

from __future__ import annotations

from origin_auditor.rules import MAX_CERTIFICATE_BYTES, MAX_CERTIFICATES
from origin_auditor.tls.wire import ServerFlight
from origin_auditor_lab.servers import handshake_message, records, server_flight, server_hello, tls_record


def feed_in_pieces(data: bytes, size: int) -> ServerFlight:
    flight = ServerFlight()
    for i in range(0, len(data), size):
        flight.feed(data[i:i + size])
    return flight


def test_chain_is_the_same_however_the_bytes_arrive() -> None:
    certs = [b"\x30\x01A", b"\x30\x02BB", b"\x30\x03CCC"]
    data = server_flight(certs)
    for size in (1, 2, 3, 7, 64, len(data)):
        flight = feed_in_pieces(data, size)
        assert flight.certs == certs, size
        assert flight.server_hello and flight.server_version == "TLSv1.2"
        assert flight.certificate_done and flight.hello_done
        assert not flight.cert_request


def test_certificate_message_split_over_many_small_records() -> None:
    certs = [bytes([0x30]) * 5000, bytes([0x31]) * 7000]
    hs = server_hello() + handshake_message(11, (12006).to_bytes(3, "big") + b"".join(
        len(c).to_bytes(3, "big") + c for c in certs)) + handshake_message(14, b"")
    flight = feed_in_pieces(records(hs, size=100), 333)
    assert flight.certs == certs


def test_certificate_request_is_seen() -> None:
    hs = server_hello() + handshake_message(11, b"\x00\x00\x00") + handshake_message(13, b"\x01\x01\x00\x00")
    flight = feed_in_pieces(records(hs), 10)
    assert flight.cert_request


def test_more_than_max_certificates_truncates_after_keeping_the_first_ones() -> None:
    certs = [bytes([i % 256]) * 10 for i in range(MAX_CERTIFICATES + 5)]
    flight = feed_in_pieces(server_flight(certs), 4096)
    assert flight.truncated
    assert flight.certs == certs[:MAX_CERTIFICATES]


def test_exactly_max_certificates_is_not_truncated() -> None:
    certs = [bytes([i]) * 10 for i in range(MAX_CERTIFICATES)]
    flight = feed_in_pieces(server_flight(certs), 4096)
    assert not flight.truncated
    assert flight.certs == certs


def test_a_huge_certificate_truncates_as_soon_as_its_length_is_read() -> None:
    data = server_flight([b"\x30" * 10, b"\x30" * (MAX_CERTIFICATE_BYTES + 1)])
    flight = ServerFlight()
    flight.feed(data[:16384 + 5])  # only the first record has arrived
    assert flight.truncated
    assert flight.certs == [b"\x30" * 10]


def test_non_tls_first_bytes_are_recognised_and_kept() -> None:
    flight = feed_in_pieces(b"HTTP/1.1 400 Bad Request\r\n\r\n", 3)
    assert flight.not_tls
    assert flight.first_bytes.startswith(b"HTTP/1.1 400")


def test_alert_is_recorded() -> None:
    flight = feed_in_pieces(tls_record(21, b"\x02\x46"), 1)
    assert flight.alert == (2, 70)
    assert not flight.not_tls


def test_oversized_record_is_malformed() -> None:
    flight = feed_in_pieces(server_flight([b"x"])[:0] + b"\x16\x03\x03\xff\xff", 5)
    assert flight.malformed is not None


def test_parsing_stops_at_change_cipher_spec() -> None:
    data = records(server_hello()) + tls_record(20, b"\x01") + records(
        handshake_message(11, b"\x00\x00\x04\x00\x00\x01Z"))
    flight = feed_in_pieces(data, 1000)
    assert flight.encrypted
    assert flight.certs == []
