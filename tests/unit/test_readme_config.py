"""The controller config shown in the README is one steth accepts, as written."""

import os
import re

from steth.controller.config import load

README = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")


def test_readme_example_config_loads(tmp_path):
    text = open(README, encoding="utf-8").read()
    block = re.search(r"```ini\n(\s*\[DEFAULT\].*?)```", text, re.S).group(1)
    conf = "\n".join(line.strip() for line in block.splitlines())
    token = tmp_path / "token"
    token.write_text("t" * 32)
    path = tmp_path / "steth.conf"
    path.write_text(conf.replace("/etc/steth/token", str(token)))
    cfg = load(str(path))
    assert set(cfg.nodes) == {"network-1", "compute-1", "compute-2"}
    assert set(cfg.networks) == {"management", "tenant", "storage"}
    assert cfg.mtu == {"tenant": 9000} and cfg.tunnels == {"tenant": "vxlan"}
    assert cfg.vlans["tenant"][:2] == [100, 101] and cfg.vlans["tenant"][-1] == 1000
    assert cfg.bandwidth == {"tenant": 10_000_000_000}
    assert cfg.request_timeout == 5 and cfg.token() == "t" * 32
