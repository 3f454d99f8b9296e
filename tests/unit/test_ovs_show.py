"""OVS show joining/problem detection and the trace request's flow, without OVS."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from steth.probes.ovs_show import build, parse_trace
from steth.wire.models import OvsTraceRequest, Verdict


def tables(tag=1, error=None, ofport=3, peer="patch-int"):
    return {
        "Bridge": [
            {
                "_uuid": "b1",
                "name": "br-int",
                "datapath_type": "netdev",
                "fail_mode": ["secure"],
                "external_ids": {},
                "ports": ["p1", "p2"],
            }
        ],
        "Port": [
            {
                "_uuid": "p1",
                "name": "qvo1",
                "tag": [tag] if tag is not None else [],
                "trunks": [],
                "vlan_mode": [],
                "other_config": {"net_uuid": "n1"},
                "interfaces": ["i1"],
            },
            {
                "_uuid": "p2",
                "name": "patch-tun",
                "tag": [],
                "trunks": [],
                "vlan_mode": [],
                "other_config": {},
                "interfaces": ["i2"],
            },
        ],
        "Interface": [
            {
                "_uuid": "i1",
                "name": "qvo1",
                "type": "",
                "ofport": [ofport],
                "error": [error] if error else [],
                "mac_in_use": ["aa:bb:cc:dd:ee:ff"],
                "admin_state": ["up"],
                "link_state": ["up"],
                "external_ids": {"iface-id": "port-1", "attached-mac": "fa:16:3e:00:00:01"},
                "options": {},
            },
            {
                "_uuid": "i2",
                "name": "patch-tun",
                "type": "patch",
                "ofport": [2],
                "error": [],
                "mac_in_use": [],
                "admin_state": [],
                "link_state": [],
                "external_ids": {},
                "options": {"peer": peer},
            },
            {
                "_uuid": "i3",
                "name": "patch-int",
                "type": "patch",
                "ofport": [1],
                "error": [],
                "mac_in_use": [],
                "admin_state": [],
                "link_state": [],
                "external_ids": {},
                "options": {"peer": "patch-tun"},
            },
        ],
    }


def test_healthy_bridge():
    r = build(tables())
    assert r.verdict == Verdict.OK and not r.problems
    (b,) = r.bridges
    assert b.fail_mode == "secure" and [p.name for p in b.ports] == ["patch-tun", "qvo1"]
    qvo = b.ports[1]
    assert qvo.tag == 1 and qvo.interfaces[0].external_ids["iface-id"] == "port-1"
    assert b.ports[0].interfaces[0].peer == "patch-int"


@pytest.mark.parametrize(
    "kw,needle",
    [
        ({"tag": 4095}, "dead VLAN"),
        ({"ofport": -1, "error": "could not open"}, "could not open"),
        ({"peer": "nowhere"}, "peer nowhere"),
    ],
)
def test_problems(kw, needle):
    r = build(tables(**kw))
    assert r.verdict == Verdict.FAIL and any(needle in p for p in r.problems)


def test_unknown_bridge():
    r = build(tables(), "br-nope")
    assert r.verdict == Verdict.FAIL and "does not exist" in r.detail


def test_trace_flow_and_parse():
    req = OvsTraceRequest(
        bridge="br-int",
        in_port="qvo1",
        dl_src="fa:16:3e:00:00:01",
        dl_dst="ff:ff:ff:ff:ff:ff",
        proto="udp",
        nw_src="0.0.0.0",
        nw_dst="255.255.255.255",
        tp_src=68,
        tp_dst=67,
    )
    assert req.flow() == (
        "in_port=qvo1,udp,dl_src=fa:16:3e:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff,"
        "nw_src=0.0.0.0,nw_dst=255.255.255.255,udp_src=68,udp_dst=67"
    )
    arp = OvsTraceRequest(bridge="br-int", in_port="qvo1", proto="arp", nw_src="10.0.0.1", nw_dst="10.0.0.2")
    assert arp.flow() == "in_port=qvo1,arp,arp_spa=10.0.0.1,arp_tpa=10.0.0.2"
    assert parse_trace("bla\nDatapath actions: drop\n") == ("drop", True)
    assert parse_trace("Datapath actions: 3\n...\nDatapath actions: push_vlan(vid=101,pcp=0),2\n") == (
        "push_vlan(vid=101,pcp=0),2",
        False,
    )
    assert parse_trace("nothing") == (None, False)


@pytest.mark.parametrize(
    "bad",
    [
        {"in_port": "a,b"},
        {"in_port": "x", "dl_src": "zz"},
        {"in_port": "x", "dl_vlan": 4096},
        {"in_port": "x", "tp_dst": 67},
        {"in_port": "x", "nw_src": "::1"},
        {"in_port": "x", "proto": "sctp"},
        {"in_port": "x", "actions": "drop"},
    ],
)
def test_trace_request_validation(bad):
    with pytest.raises(ValidationError):
        OvsTraceRequest(bridge="br-int", **bad)
