"""`systemd-analyze security` of deploy/systemd/steth-agent.service: the exposure (0 best, 10 worst), the
settings that still cost, and why each capability is kept. Run: python benchmarks/systemd_security.py"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "deploy" / "systemd" / "steth-agent.service"


def analyze(text: str) -> str:
    with tempfile.TemporaryDirectory() as d:
        copy = Path(d) / UNIT.name
        # the binary must exist for the analysis: point at this checkout's agent
        copy.write_text(text.replace("/opt/steth/bin/steth-agent", str(Path(sys.executable).parent / "steth-agent")))
        r = subprocess.run(
            ["systemd-analyze", "security", "--offline=true", "--no-pager", str(copy)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    if "Overall exposure" not in r.stdout:
        raise SystemExit(f"systemd-analyze security failed: {r.stderr.strip()}")
    return r.stdout


def exposure(out: str) -> str:
    m = re.search(r"Overall exposure level for \S+: (.*)", out)
    return m.group(1) if m else "?"


def main() -> None:
    text = UNIT.read_text()
    out = analyze(text)
    bare = "\n".join(line for line in text.splitlines() if not line.startswith(("[Service]",)) and "=" not in line)
    bare += "\n[Service]\nExecStart=/opt/steth/bin/steth-agent\n"
    print(f"unit: {UNIT.relative_to(ROOT)}")
    print(f"exposure, hardened unit:                 {exposure(out)}")
    print(f"exposure, same ExecStart without hardening: {exposure(analyze(bare))}")
    print("\nsettings that still cost (weight):")
    for line in out.splitlines():
        if line.startswith("✗"):
            name, weight = line[1:].split()[0], line.split()[-1]
            print(f"  {weight:>4}  {name}")
    print("\ncapabilities kept, and why (from the unit):")
    for line in text.split("[Unit]")[0].splitlines():
        if re.match(r"#\s{3}CAP_", line) or re.match(r"#\s{10,}\S", line):
            print("  " + line.lstrip("# ").rstrip())


if __name__ == "__main__":
    main()
