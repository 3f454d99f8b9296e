"""The ML2/OVN lab's metadata pieces without root: the Nova stand-in's signature check and answers (also over
real HTTP on loopback), the listeners probe's pid file and socket owners, DHCP option 121 routes."""

from __future__ import annotations

import http.client
import json
import os
import socket
import threading

from steth.lab.neutron.ml2ovn import nova_standin as ns
from steth.lab.neutron.vms import parse_lease, static_routes
from steth.probes.listeners import config_pidfile, socket_owners

SECRET = "s3cret"
IID = "4c918a12-cc40-4554-bd4d-cbfe73585086"
INSTANCES = {IID: {"hostname": "vm1"}}


def headers(iid: str = IID, secret: str = SECRET, **extra: str) -> dict[str, str]:
    return {"x-instance-id": iid, "x-instance-id-signature": ns.signature(secret, iid), **extra}


def test_signature_is_neutrons_hmac_sha256():
    # neutron's _sign_instance_id: hmac.new(secret, instance_id, hashlib.sha256).hexdigest()
    import hashlib
    import hmac

    assert ns.signature(SECRET, IID) == hmac.new(SECRET.encode(), IID.encode(), hashlib.sha256).hexdigest()
    assert ns.signature_ok(SECRET, IID, ns.signature(SECRET, IID))
    assert not ns.signature_ok(SECRET, IID, ns.signature("other", IID))
    assert not ns.signature_ok(SECRET, "", ns.signature(SECRET, ""))
    assert not ns.signature_ok(SECRET, IID, "")


def test_answers_only_signed_requests_of_known_instances():
    assert ns.answer("/latest/meta-data/instance-id", headers(), SECRET, INSTANCES) == (200, IID)
    assert ns.answer("/latest/meta-data/hostname", headers(), SECRET, INSTANCES) == (200, "vm1")
    ip = headers(**{"x-forwarded-for": "192.168.101.7"})
    assert ns.answer("/latest/meta-data/local-ipv4", ip, SECRET, INSTANCES) == (200, "192.168.101.7")
    status, body = ns.answer("/latest/meta-data/", headers(), SECRET, INSTANCES)
    assert status == 200 and body.split() == list(ns.META_KEYS)
    assert ns.answer("/latest/meta-data/instance-id", headers(secret="wrong"), SECRET, INSTANCES)[0] == 403
    assert ns.answer("/latest/meta-data/instance-id", {"x-instance-id": IID}, SECRET, INSTANCES)[0] == 403
    assert ns.answer("/latest/meta-data/instance-id", headers(iid="nope"), SECRET, INSTANCES)[0] == 404
    assert ns.answer("/latest/meta-data/public-keys", headers(), SECRET, INSTANCES)[0] == 404


def test_the_server_over_http_rereads_its_instances(tmp_path):
    inst = tmp_path / "instances.json"
    inst.write_text("{}")
    handler = ns.make_handler(SECRET, ns._Instances(str(inst)))
    srv = ns._Server(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:

        def get() -> int:
            conn = http.client.HTTPConnection("127.0.0.1", srv.server_address[1], timeout=5)
            conn.request("GET", "/latest/meta-data/instance-id", headers=headers())
            resp = conn.getresponse()
            resp.read()
            return resp.status

        assert get() == 404
        inst.write_text(json.dumps(INSTANCES))
        os.utime(inst, (1, 1))  # a new mtime even within the same clock tick
        assert get() == 200
    finally:
        srv.shutdown()
        srv.server_close()


def test_pidfile_from_haproxy_config(tmp_path):
    conf = tmp_path / "net.conf"
    conf.write_text("global\n    log /dev/log local0 debug\n    pidfile /x/external/pids/net.pid.haproxy\n")
    assert config_pidfile(["haproxy", "-f", str(conf)]) == "/x/external/pids/net.pid.haproxy"
    assert config_pidfile(["ovsdb-server", "--pidfile=/run/a.pid"]) == "/run/a.pid"
    assert config_pidfile(["haproxy", "-f", str(tmp_path / "missing.conf")]) is None
    assert config_pidfile(["sleep", "10"]) is None


def test_socket_owners_finds_this_process():
    with socket.create_server(("127.0.0.1", 0)) as s:
        inode = os.fstat(s.fileno()).st_ino
        assert os.getpid() in socket_owners({inode})[inode]


def test_dhcp_static_routes_leave_out_the_default():
    routes = "169.254.169.254/32,192.168.101.2,0.0.0.0/0,192.168.101.1"
    line = f"LEASE ip=192.168.101.7 mask=24 router=192.168.101.1 staticroutes={routes}"
    kv = parse_lease(line)
    assert kv is not None
    assert static_routes(kv["staticroutes"]) == [("169.254.169.254/32", "192.168.101.2")]
    assert static_routes("") == []
