"""Bandwidth rates as people write them: 1G, 100M, 100mbit, 500k; and [bandwidth] in the config."""

import pytest

from steth.controller.config import load
from steth.errors import ConfigError
from steth.wire.iperf import IperfClientRequest, format_rate, parse_rate


@pytest.mark.parametrize(
    "text,bps",
    [
        ("1G", 10**9),
        ("1g", 10**9),
        ("100M", 10**8),
        ("100mbit", 10**8),
        ("100Mbit/s", 10**8),
        ("100 Mbit", 10**8),
        ("500k", 500_000),
        ("500K", 500_000),
        ("500kbit", 500_000),
        ("2.5G", 2_500_000_000),
        ("1.5Gbit", 1_500_000_000),
        ("1000000", 1_000_000),
        ("10bit", 10),
        ("1T", 10**12),
        ("40Gb/s", 4 * 10**10),
        (" 10M ", 10**7),
        (100, 100),
        (2.5e6, 2_500_000),
    ],
)
def test_parses(text, bps):
    assert parse_rate(text) == bps


@pytest.mark.parametrize(
    "text,needle",
    [
        ("100MB", "bytes"),
        ("100mbps", "bytes"),
        ("10Kbytes", "bytes"),
        ("12MB/s", "bytes"),
        ("fast", "not a rate"),
        ("", "not a rate"),
        ("1e9", "not a rate"),
        ("-5M", "not a rate"),
        ("5X", "not a rate"),
        ("0", "more than 0"),
        ("0M", "more than 0"),
        ("20T", "10 Tbit/s"),
    ],
)
def test_refuses(text, needle):
    with pytest.raises(ValueError) as exc:
        parse_rate(text)
    assert needle in str(exc.value)


def test_bool_is_not_a_rate():
    with pytest.raises(ValueError):
        parse_rate(True)


@pytest.mark.parametrize(
    "bps,text",
    [
        (95_123_456, "95.1 Mbit/s"),
        (8.7e9, "8.7 Gbit/s"),
        (10**9, "1 Gbit/s"),
        (500_000, "500 kbit/s"),
        (512, "512 bit/s"),
        (123_456_789_012, "123 Gbit/s"),
        (None, ""),
    ],
)
def test_formats(bps, text):
    assert format_rate(bps) == text


def test_request_takes_a_rate_text_and_sends_bits():
    req = IperfClientRequest(server="10.0.0.1", port=5201, bandwidth="50M", protocol="udp")
    assert req.bandwidth == 50_000_000
    assert req.model_dump(mode="json")["bandwidth"] == 50_000_000


CONF = """
[DEFAULT]
token_file = {token}
[networks]
management = 10.1.0.0/24
tenant = 10.2.0.0/24
[nodes]
a = 10.1.0.10
{extra}
"""


def write(tmp_path, extra):
    token = tmp_path / "token"
    token.write_text("t" * 32)
    path = tmp_path / "steth.conf"
    path.write_text(CONF.format(token=token, extra=extra))
    return str(path)


def test_config_bandwidth_section(tmp_path):
    cfg = load(write(tmp_path, "[bandwidth]\ntenant = 10G\nmanagement = 100mbit\n"))
    assert cfg.bandwidth == {"tenant": 10**10, "management": 10**8}


def test_config_without_bandwidth_section(tmp_path):
    assert load(write(tmp_path, "")).bandwidth == {}


def test_config_bandwidth_bad_rate(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load(write(tmp_path, "[bandwidth]\ntenant = lots\n"))
    assert "[bandwidth] tenant" in str(exc.value) and "not a rate" in str(exc.value)


def test_config_bandwidth_unknown_network(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load(write(tmp_path, "[bandwidth]\nstorage = 1G\n"))
    assert "'storage'" in str(exc.value) and "not in [networks]" in str(exc.value)
