"""The agent's watch plan model and round scheduling (no sockets)."""

from __future__ import annotations

import random

import pytest
from pydantic import ValidationError

from steth.agent.watch import probes_of, schedule
from steth.wire.watch import WatchPlan


def plan(**kw) -> WatchPlan:
    body = {
        "source": "compute-1",
        "networks": [
            {"name": "management", "peers": [{"name": "compute-2", "address": "10.0.0.2"}]},
            {
                "name": "tenant",
                "mtu": 1500,
                "peers": [{"name": "compute-2", "address": "10.1.0.2"}, {"name": "net-1", "address": "fd00::3"}],
            },
        ],
        **kw,
    }
    return WatchPlan.model_validate(body)


def test_probes_per_round_and_df_sizes():
    p = plan()
    probes = probes_of(p)
    assert p.packets_per_round() == len(probes) == 5
    df = {x.address: x.size for x in probes if x.dont_fragment}
    assert df == {"10.1.0.2": 1500 - 28, "fd00::3": 1500 - 48}
    assert all(x.size == 56 for x in probes if not x.dont_fragment)


def test_schedule_spreads_probes_over_the_interval():
    offsets = schedule(100, 10.0, 0.2, 1000, random.Random(1))
    assert offsets == sorted(offsets)
    assert offsets[0] < 0.09 * 2 and 8.9 < offsets[-1] < 9.0 + 0.09 * 0.2
    gaps = [b - a for a, b in zip(offsets, offsets[1:])]
    assert min(gaps) > 0


def test_schedule_never_exceeds_the_packet_rate_cap():
    offsets = schedule(50, 1.0, 1.0, 10, random.Random(2))
    gaps = [b - a for a, b in zip(offsets, offsets[1:])]
    assert min(gaps) >= 0.1 - 1e-9  # the round stretches to 4.9 s rather than burst
    assert offsets[-1] >= 4.9 - 1e-9


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"interval": 0.1}, "interval"),
        ({"timeout": 5, "interval": 2}, "must not exceed the interval"),
        ({"max_pps": 5000}, "max_pps"),
        ({"source": "bad name"}, "must be 1-128"),
        ({"jitter": 2}, "jitter"),
    ],
)
def test_bad_plans_are_refused_naming_the_field(change, message):
    with pytest.raises(ValidationError, match=message):
        plan(**change)


def test_a_network_appears_once():
    body = plan().model_dump()
    body["networks"].append(body["networks"][0])
    with pytest.raises(ValidationError, match="once"):
        WatchPlan.model_validate(body)


def test_peer_addresses_are_literal_ips():
    body = plan().model_dump()
    body["networks"][0]["peers"][0]["address"] = "compute-2.example.org"
    with pytest.raises(ValidationError, match="not an IPv4 or IPv6 address"):
        WatchPlan.model_validate(body)
