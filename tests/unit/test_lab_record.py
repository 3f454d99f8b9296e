"""The typed Neutron record: the state file's JSON goes through it unchanged; lookups name the choices."""

from __future__ import annotations

import json

import pytest

from steth.errors import UsageError
from steth.host.proc import ProcRecord
from steth.lab.neutron.record import (
    ExternalRecord,
    FloatingIPRecord,
    NeutronRecord,
    Ports,
    RouterRecord,
    VMRecord,
)
from steth.lab.state import LabState


def full_record(tmp_path) -> NeutronRecord:
    return NeutronRecord(
        dir=str(tmp_path / "neutron"),
        ports=Ports(api=19700, amqp=15703, dist=25703, epmd=14403),
        procs={"neutron-server": ProcRecord(pid=42, start_ticks=7, argv=("neutron-server", "--config-file", "x"))},
        networks={"vlan": "n1", "vxlan": "n2"},
        subnets={"vlan": "s1", "vxlan": "s2"},
        external=ExternalRecord("198.51.100.1", "203.0.113.10", 80, "203.0.113.53", "steth-x-inet", "n3", "s3"),
        router=RouterRecord("r1", "x-router", "198.51.100.20"),
        security_group="sg1",
        vms=[VMRecord("vm1", "compute-1", "vlan", "hybrid", "p1", "fa:16:3e:00:00:01", "d1", "192.168.101.5")],
        floating_ips={"vm1": FloatingIPRecord("f1", "198.51.100.30", "p1")},
        up_seconds=99.5,
    )


def test_json_round_trip_through_the_state_file(tmp_path, monkeypatch):
    monkeypatch.setenv("STETH_LAB_ROOT", str(tmp_path))
    state = LabState(lab="rec", computes=1, cidrs=("10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16"))
    rec = full_record(tmp_path)
    rec.save(state)
    on_disk = json.loads(open(state.path).read())["extra"]["neutron"]
    # the shape the e2e tests and benchmarks read
    assert on_disk["vms"][0]["port_id"] == "p1" and on_disk["router"]["id"] == "r1"
    assert on_disk["procs"]["neutron-server"]["pid"] == 42 and on_disk["ports"]["api"] == 19700
    assert on_disk["floating_ips"]["vm1"]["address"] == "198.51.100.30"
    again = NeutronRecord.load(LabState.load("rec"))
    assert again == rec


def test_lookups_and_a_lab_without_neutron(tmp_path):
    rec = full_record(tmp_path)
    assert rec.vm("vm1").fixed_ip == "192.168.101.5" and rec.proc("neutron-server").pid == 42
    assert rec.proc("nope") is None
    with pytest.raises(UsageError) as exc:
        rec.vm("vm9")
    assert "vm1" in exc.value.hint
    state = LabState(lab="none", computes=1, cidrs=("10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16"))
    assert NeutronRecord.load(state) is None
    with pytest.raises(UsageError):
        NeutronRecord.require(state)
