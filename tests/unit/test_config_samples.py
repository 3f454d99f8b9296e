"""The committed config samples are what oslo-config-generator makes from the code's options today."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = Path(sys.executable).parent / "oslo-config-generator"


@pytest.mark.parametrize("name", ["steth", "steth-agent"])
def test_sample_is_up_to_date(name, tmp_path):
    out = tmp_path / f"{name}.conf.sample"
    r = subprocess.run(
        [str(GENERATOR), "--config-file", f"deploy/config/generator/{name}.conf", "--output-file", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    committed = (ROOT / "deploy" / "config" / f"{name}.conf.sample").read_text()
    assert out.read_text() == committed, f"run scripts/gen-config-samples.sh: deploy/config/{name}.conf.sample is stale"


def test_samples_name_every_option():
    from steth.opts import list_agent_opts, list_controller_opts

    for name, lister in (("steth", list_controller_opts), ("steth-agent", list_agent_opts)):
        text = (ROOT / "deploy" / "config" / f"{name}.conf.sample").read_text()
        for group, opts in lister():
            if group:
                assert f"[{group}]" in text
            for opt in opts:
                assert f"#{opt.dest} = " in text, (name, opt.dest)
