"""The lab's stand-in for Nova's metadata API (the ML2/OVN lab has no Nova).

neutron-ovn-metadata-agent forwards a VM's request to ``nova_metadata_host:port`` with the headers
``X-Instance-ID`` (the port's device_id), ``X-Tenant-ID``, ``X-Forwarded-For`` (the VM's address) and
``X-Instance-ID-Signature``: HMAC-SHA256 of the instance id with ``metadata_proxy_shared_secret``. Like
Nova, this server answers only a correctly signed request for a known instance (403 / 404 otherwise) with
``instance-id``, ``hostname``, ``local-ipv4`` under ``/latest/meta-data/``.

One process serves every compute node: it opens a listening socket on 127.0.0.1:PORT inside each node's
network namespace (a socket keeps the namespace it was made in), where that node's agent runs.

Run: ``python -m steth.lab.neutron.ml2ovn.nova_standin CONFIG.json``; CONFIG names ``secret_file``,
``port``, ``netns`` (list) and ``instances_file`` (JSON {device_id: {"hostname": ...}}, re-read on change).
"""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import os
import socket
import socketserver
import sys
import threading
from typing import Any

META_KEYS = ("instance-id", "hostname", "local-ipv4")


def signature(secret: str, instance_id: str) -> str:
    """What the metadata agent sends in X-Instance-ID-Signature (neutron's ``_sign_instance_id``)."""
    return hmac.new(secret.encode(), instance_id.encode(), hashlib.sha256).hexdigest()


def signature_ok(secret: str, instance_id: str, sig: str) -> bool:
    return bool(instance_id) and hmac.compare_digest(signature(secret, instance_id), sig or "")


def answer(path: str, headers: dict[str, str], secret: str, instances: dict[str, dict[str, Any]]) -> tuple[int, str]:
    """(HTTP status, body) for a GET of ``path`` with the agent's ``headers`` (keys lower-case)."""
    iid = headers.get("x-instance-id", "")
    if not signature_ok(secret, iid, headers.get("x-instance-id-signature", "")):
        return 403, "invalid X-Instance-ID-Signature\n"
    inst = instances.get(iid)
    if inst is None:
        return 404, f"no instance {iid}\n"
    values = {
        "instance-id": iid,
        "hostname": str(inst.get("hostname", "")),
        "local-ipv4": headers.get("x-forwarded-for", "").split(",")[0].strip(),
    }
    path = path.split("?")[0].rstrip("/")
    if path in ("", "/latest", "/openstack"):
        return 200, "meta-data\n" if path == "/latest" else "latest\n"
    if path == "/latest/meta-data":
        return 200, "".join(f"{k}\n" for k in META_KEYS)
    key = path.removeprefix("/latest/meta-data/")
    if key in values:
        return 200, values[key]
    return 404, f"no {path}\n"


class _Instances:
    """The instances file, re-read when it changes (the lab writes it once its VMs' ports exist)."""

    def __init__(self, path: str) -> None:
        self.path, self.mtime, self.data = path, -1.0, {}
        self.lock = threading.Lock()

    def get(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            try:
                mtime = os.stat(self.path).st_mtime
                if mtime != self.mtime:
                    with open(self.path) as fh:
                        self.data, self.mtime = json.load(fh), mtime
            except (OSError, ValueError):
                pass
            return self.data


def make_handler(secret: str, instances: _Instances) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "steth-nova-standin"

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, body = answer(self.path, headers, secret, instances.get())
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, fmt: str, *args: Any) -> None:
            sys.stdout.write(f"{self.address_string()} {fmt % args} instance={self.headers.get('X-Instance-ID')}\n")
            sys.stdout.flush()

    return Handler


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def _listen_in(netns: str, port: int) -> socket.socket:
    from ....host import netns as hostns

    return hostns.call_in(netns, lambda: socket.create_server(("127.0.0.1", port), backlog=64))


def main(argv: list[str]) -> int:
    with open(argv[1]) as fh:
        cfg = json.load(fh)
    with open(cfg["secret_file"]) as fh:
        secret = fh.read().strip()
    handler = make_handler(secret, _Instances(cfg["instances_file"]))
    servers = []
    for ns in cfg["netns"]:
        srv = _Server(("127.0.0.1", cfg["port"]), handler, bind_and_activate=False)
        srv.socket.close()
        srv.socket = _listen_in(ns, cfg["port"])
        servers.append(srv)
    for srv in servers[1:]:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    print(f"listening on 127.0.0.1:{cfg['port']} in {', '.join(cfg['netns'])}", flush=True)
    servers[0].serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
