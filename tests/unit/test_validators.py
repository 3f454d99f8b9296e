import pytest
from pydantic import ValidationError

from steth.wire.models import OvsCheckPortsRequest, PingRequest, Verdict, worst
from steth.wire.validators import check_ifname, check_ip, check_netns


@pytest.mark.parametrize("name", ["eth0", "br-int", "qvo1234567890ab", "tap.1", "a"])
def test_ifname_accepts_kernel_valid_names(name):
    assert check_ifname(name) == name


@pytest.mark.parametrize(
    "name,reason",
    [
        ("", "empty"),
        ("a" * 16, "longer than 15"),
        ("../etc", "'/'"),
        ("a/b", "'/'"),
        ("eth0:1", "':'"),
        ("eth 0", "' '"),
        (".", "not allowed"),
        ("..", "not allowed"),
        ("eth\n0", "'\\n'"),
    ],
)
def test_ifname_rejects_with_reason(name, reason):
    with pytest.raises(ValueError) as exc:
        check_ifname(name)
    assert reason in str(exc.value)


def test_ifname_counts_bytes_not_characters():
    with pytest.raises(ValueError):
        check_ifname("é" * 8)  # 16 bytes in UTF-8


def test_ip_normalises_and_rejects_names():
    assert check_ip(" 10.0.0.1 ") == "10.0.0.1"
    assert check_ip("FD00::0001") == "fd00::1"
    for bad in ("host.example", "10.0.0.256", "", "10.0.0.1/24"):
        with pytest.raises(ValueError, match="not an IPv4 or IPv6 address"):
            check_ip(bad)


def test_netns_name_is_one_path_component():
    assert check_netns("qdhcp-1234") == "qdhcp-1234"
    for bad in ("../x", "a/b", "..", "", "x" * 65):
        with pytest.raises(ValueError):
            check_netns(bad)


def test_ping_request_bounds_and_field_names():
    req = PingRequest(targets=["10.0.0.1", "fd00::2"])
    assert req.count == 3 and req.dont_fragment is False
    with pytest.raises(ValidationError) as exc:
        PingRequest(targets=["10.0.0.1", "nope"])
    assert exc.value.errors()[0]["loc"] == ("targets", 1)
    for bad in (
        dict(targets=[]),
        dict(targets=["10.0.0.1"], count=0),
        dict(targets=["10.0.0.1"], count=101),
        dict(targets=["10.0.0.1"], size=70000),
        dict(targets=["10.0.0.1"], timeout=0),
        dict(targets=["10.0.0.1"], interface="x" * 20),
        dict(targets=["10.0.0.1"], bogus=1),
        dict(targets=["10.0.0.1"] * 1025),
    ):
        with pytest.raises(ValidationError):
            PingRequest(**bad)


def test_ping_request_total_duration_is_bounded():
    with pytest.raises(ValidationError, match="120 seconds"):
        PingRequest(targets=["10.0.0.1"], count=100, interval=1, timeout=1)


def test_ovs_request_validates_names():
    assert OvsCheckPortsRequest(bridge="br-int", ports=["qvo1"]).bridge == "br-int"
    with pytest.raises(ValidationError):
        OvsCheckPortsRequest(bridge="br int", ports=["p"])
    with pytest.raises(ValidationError):
        OvsCheckPortsRequest(bridge="br-int", ports=[])


def test_worst_verdict():
    assert worst([Verdict.OK, Verdict.FAIL]) is Verdict.FAIL
    assert worst([Verdict.OK, Verdict.ERROR, Verdict.FAIL]) is Verdict.ERROR
    assert worst([Verdict.SKIPPED, Verdict.OK]) is Verdict.OK
    assert worst([]) is Verdict.SKIPPED
