"""ovn-trace's output read back: a routed path ending in a flood (multicast) to the external network's
localnet port is delivered there, not dropped (issue 12's trace bug). The text is a real capture from the
ML2/OVN lab (vm1 -> the internet address through the router's SNAT)."""

from __future__ import annotations

from pathlib import Path

from steth.controller.checks import ovn_trace
from steth.openstack.ovn_model import NbGlobal, NbSnapshot

TEXT = (Path(__file__).parent / "data" / "ovn_trace_snat_flood.txt").read_text()


def test_nested_egress_of_a_flood_is_an_egress_pipeline():
    stages, output = ovn_trace.parse(TEXT)
    assert output == "provnet-ad54d3"
    last = stages[-1]
    assert (last.pipeline, last.datapath, last.name) == ("egress", "ovx-ext", "ls_out_apply_port_sec")
    assert any(s.pipeline == "egress" and s.name == "lr_out_snat" for s in stages)


def test_routed_path_to_the_localnet_port_is_delivered():
    result = ovn_trace.judge("flow", "neutron-x", TEXT, NbSnapshot(NbGlobal(), {}, {}, {}, {}, {}, {}))
    assert result.delivered and result.delivered_to == "provnet-ad54d3"
    assert result.drop is None
