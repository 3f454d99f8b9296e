"""VLAN list parsing and formatting, and the VLAN wire models' bounds."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from steth.wire.vlan import LinkSetupRequest, VlanListenRequest, VlanSendRequest, format_ranges, parse_vlans


def test_parse_ranges_and_singles():
    assert parse_vlans("100-199,1000") == list(range(100, 200)) + [1000]
    assert parse_vlans(" 5 , 3,4-4 ") == [3, 4, 5]
    assert parse_vlans("1-4094") == list(range(1, 4095))
    assert parse_vlans("10-12,11-13") == [10, 11, 12, 13]


def test_untagged_only_where_allowed():
    assert parse_vlans("untagged,1-2", allow_untagged=True) == [0, 1, 2]
    assert parse_vlans("0,7", allow_untagged=True) == [0, 7]
    with pytest.raises(ValueError, match="not allowed"):
        parse_vlans("untagged")
    with pytest.raises(ValueError, match="out of range"):
        parse_vlans("0")


@pytest.mark.parametrize(
    "bad,words",
    [
        ("", "no VLAN"),
        ("4095", "out of range"),
        ("100-", "not a VLAN"),
        ("199-100", "backwards"),
        ("a", "not a VLAN"),
        ("1,,2", "empty item"),
        ("1-2-3", "not a VLAN"),
        ("-5", "not a VLAN"),
        ("100000", "out of range"),
    ],
)
def test_bad_input_names_the_part(bad, words):
    with pytest.raises(ValueError, match=words):
        parse_vlans(bad)


def test_format_ranges():
    assert format_ranges([1, 2, 3, 7, 9, 10]) == "1-3,7,9-10"
    assert format_ranges({105}) == "105"
    assert format_ranges([0, 5, 6]) == "untagged,5-6"
    assert format_ranges([]) == ""
    assert parse_vlans(format_ranges(range(1, 4095))) == list(range(1, 4095))


def test_send_request_bounds():
    ok = VlanSendRequest(interface="eth1", run_id="ab12", sender="compute-1", vlans=list(range(0, 4095)))
    assert len(ok.vlans) == 4095
    for bad in (
        dict(vlans=[]),
        dict(vlans=[4095]),
        dict(vlans=[1, 1]),
        dict(sender="a b"),
        dict(run_id="XYZ"),
        dict(repeat=4),
        dict(rate=1),
        dict(interface="x" * 16),
        dict(extra=1),
    ):
        args = dict(interface="eth1", run_id="ab12", sender="c1", vlans=[1]) | bad
        with pytest.raises(ValidationError):
            VlanSendRequest(**args)


def test_listen_duration_bounded():
    assert VlanListenRequest(interface="eth1", run_id="ab", duration=60).duration == 60
    for d in (0, 61, -1):
        with pytest.raises(ValidationError):
            VlanListenRequest(interface="eth1", run_id="ab", duration=d)


def test_link_setup_cidr():
    assert LinkSetupRequest(interface="eth2", cidr="192.0.2.5/24").cidr == "192.0.2.5/24"
    assert LinkSetupRequest(interface="eth2", cidr="2001:db8::5/64").cidr == "2001:db8::5/64"
    for bad in ("192.0.2.5", "192.0.2.5/33", "host/24"):
        with pytest.raises(ValidationError):
            LinkSetupRequest(interface="eth2", cidr=bad)
    with pytest.raises(ValidationError):
        LinkSetupRequest(interface="eth2", cidr="192.0.2.5/24", lease=0)
