"""`steth watch apply` refuses bad options before it contacts any agent: exit 2 and a message naming the option."""

from __future__ import annotations

import pytest

from steth.controller.cli import main


@pytest.fixture()
def conf(tmp_path):
    token = tmp_path / "token"
    token.write_text("0123456789abcdef0123\n")
    path = tmp_path / "steth.conf"
    path.write_text(
        f"[DEFAULT]\ntoken_file = {token}\n\n[networks]\nmanagement = 10.0.0.0/24\ntenant = 10.1.0.0/24\n\n"
        "[nodes]\nn1 = 192.0.2.1\nn2 = 192.0.2.2\n"
    )
    return str(path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--vlans", "100"], "no trunk network to send the heartbeat on"),
        (["--vlans", "5000", "--vlan-network", "tenant"], "--vlans"),
        (["--vlans", "100", "--vlan-network", "storage"], "--vlan-network storage is not among the watched networks"),
        (["--vlan-network", "tenant"], "--vlan-network needs --vlans"),
        (["--peers-per-node", "0"], "--peers-per-node 0 is out of range"),
        (["--interval", "0.1"], "--interval 0.1 is out of range"),
        (["--interval", "2", "--timeout", "3"], "--timeout 3 is out of range"),
        (["--max-pps", "5000"], "--max-pps 5000 is out of range"),
        (["--network", "nope"], "unknown network 'nope'"),
        (["--nodes", "n9"], "unknown agent 'n9'"),
    ],
)
def test_bad_options_exit_2_naming_them(conf, capsys, args, message):
    assert main(["--config-file", conf, "watch", "apply", *args]) == 2
    assert message in capsys.readouterr().err
