"""Ansible connection plugin for steth's deployment tests: run modules inside a booted
systemd-nspawn container by entering its namespaces (nsenter) from the host, as root.

Files go in and out through the container's own `cat`, so paths resolve inside the container."""

from __future__ import annotations

import subprocess

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.plugins.connection import ConnectionBase

DOCUMENTATION = """
name: nsenter
short_description: run commands in a running container's namespaces with nsenter
description:
  - Enters the mount, UTS, IPC, network and PID namespaces of the container's init (host PID).
author: steth
options:
  nsenter_pid:
    description: Host PID of the container's init (systemd).
    required: true
    vars:
      - name: nsenter_pid
"""


class Connection(ConnectionBase):
    transport = "nsenter"
    has_pipelining = True

    def _connect(self):
        self._connected = True
        return self

    def _enter(self, *argv: str) -> list[str]:
        pid = str(self.get_option("nsenter_pid"))
        return ["nsenter", "-t", pid, "-m", "-u", "-i", "-n", "-p", "--", *argv]

    def exec_command(self, cmd, in_data=None, sudoable=True):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        try:
            done = subprocess.run(self._enter("/bin/sh", "-c", cmd), input=in_data, capture_output=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise AnsibleConnectionFailure(f"nsenter: {exc}") from exc
        return done.returncode, done.stdout, done.stderr

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        with open(in_path, "rb") as src:
            done = subprocess.run(
                self._enter("/bin/sh", "-c", 'cat > "$1"', "sh", out_path), stdin=src, capture_output=True
            )
        if done.returncode != 0:
            raise AnsibleError(f"put_file {out_path}: {done.stderr.decode(errors='replace')}")

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        with open(out_path, "wb") as dst:
            done = subprocess.run(self._enter("cat", "--", in_path), stdout=dst, stderr=subprocess.PIPE)
        if done.returncode != 0:
            raise AnsibleError(f"fetch_file {in_path}: {done.stderr.decode(errors='replace')}")

    def close(self):
        self._connected = False
