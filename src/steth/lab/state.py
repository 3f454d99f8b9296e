"""The lab's state file: everything `up` created, written before and after each step.

`down` reads only this file, so it removes exactly what was made, even when
`up` failed half-way.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from typing import Any

from ..errors import LabError
from ..host.proc import ProcRecord

DEFAULT_ROOT = "/var/lib/steth"
ROOT_ENV = "STETH_LAB_ROOT"
_save_lock = threading.Lock()  # builders record from several threads at once


def lab_dir(lab: str) -> str:
    return os.path.join(os.environ.get(ROOT_ENV, DEFAULT_ROOT), f"lab-{lab}")


@dataclass
class LabState:
    lab: str
    computes: int
    cidrs: tuple[str, str, str]
    status: str = "building"  # building | up | failed
    namespaces: list[str] = field(default_factory=list)
    root_links: list[str] = field(default_factory=list)
    agents: dict[str, dict[str, Any]] = field(default_factory=dict)  # node -> ProcRecord json
    faults: list[dict[str, Any]] = field(default_factory=list)  # see lab/faults.py
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def directory(self) -> str:
        return lab_dir(self.lab)

    @property
    def path(self) -> str:
        return os.path.join(self.directory, "state.json")

    def agent(self, node: str) -> ProcRecord | None:
        data = self.agents.get(node)
        return ProcRecord.from_json(data) if data else None

    def save(self) -> None:
        with _save_lock:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            tmp = self.path + ".tmp"
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(self.__dict__, fh, indent=1)
            os.replace(tmp, self.path)

    @classmethod
    def load(cls, lab: str) -> LabState | None:
        path = os.path.join(lab_dir(lab), "state.json")
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise LabError(f"lab state {path} is unreadable: {exc}") from exc
        data["cidrs"] = tuple(data["cidrs"])
        return cls(**data)
