"""Classic BPF socket filters: the instructions steth's programs use, a check, and one way to attach.

A program is a list of ``Insn`` (code, jt, jf, k) as in linux/filter.h. The kernel runs it on
every packet before it is queued to the socket, so traffic a probe does not want never costs a
Python parse. The ICMP echo sockets (host/icmp.py) and the VLAN probe packet sockets
(host/packets.py) attach their programs here. ``check`` refuses, with a message naming the
instruction, what the kernel would refuse with a bare EINVAL.
"""

from __future__ import annotations

import ctypes
import socket
from typing import NamedTuple

SO_ATTACH_FILTER = getattr(socket, "SO_ATTACH_FILTER", 26)
MAX_INSNS = 4096  # BPF_MAXINSNS

# instruction classes, sizes, modes, operations, sources (linux/bpf_common.h)
LD, LDX, JMP, RET = 0x00, 0x01, 0x05, 0x06
W, H, B = 0x00, 0x08, 0x10
ABS, IND, MSH = 0x20, 0x40, 0xA0
JEQ, JGT, JGE, JSET = 0x10, 0x20, 0x30, 0x40
K = 0x00

LD_W_ABS = LD | W | ABS  # A = 32 bits at k
LD_H_ABS = LD | H | ABS  # A = 16 bits at k
LD_B_ABS = LD | B | ABS  # A = byte at k
LD_H_IND = LD | H | IND  # A = 16 bits at X + k
LD_B_IND = LD | B | IND  # A = byte at X + k
LDX_B_MSH = LDX | B | MSH  # X = 4 * (byte at k & 0xf): an IPv4 header's length
JEQ_K = JMP | JEQ | K
JGT_K = JMP | JGT | K
JGE_K = JMP | JGE | K
JSET_K = JMP | JSET | K
RET_K = RET | K

ACCEPT_BYTES = 0xFFFF  # "keep up to 65535 bytes": the whole packet for every socket here


class Insn(NamedTuple):
    code: int
    jt: int
    jf: int
    k: int


def load(code: int, k: int) -> Insn:
    return Insn(code, 0, 0, k)


def jump(code: int, k: int, jt: int, jf: int) -> Insn:
    """A conditional jump: ``jt``/``jf`` instructions forward from the next one."""
    return Insn(code, jt, jf, k)


def accept() -> Insn:
    return Insn(RET_K, 0, 0, ACCEPT_BYTES)


def drop() -> Insn:
    return Insn(RET_K, 0, 0, 0)


def check(program: list[Insn]) -> None:
    """ValueError naming the fault: empty or too long, a field out of range, a jump past the end, or
    a last instruction that does not return (the kernel's own rules for classic BPF)."""
    if not 1 <= len(program) <= MAX_INSNS:
        raise ValueError(f"a BPF program has 1-{MAX_INSNS} instructions, not {len(program)}")
    for i, (code, jt, jf, k) in enumerate(program):
        if not (0 <= code <= 0xFFFF and 0 <= jt <= 0xFF and 0 <= jf <= 0xFF and 0 <= k <= 0xFFFFFFFF):
            raise ValueError(f"BPF instruction {i} {(code, jt, jf, k)} has a field out of range")
        if code & 0x07 == JMP and (k if code == JMP else max(jt, jf)) >= len(program) - i - 1:
            raise ValueError(f"BPF instruction {i} jumps past the end of the program")
    if program[-1].code & 0x07 != RET:
        raise ValueError("a BPF program must end with a return")


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_SockFilter))]


def attach(sock: socket.socket, program: list[Insn]) -> None:
    """Attach ``program`` to ``sock`` (any family: raw ICMP, AF_PACKET, ...), replacing a filter it had.

    Attach before bind() on a packet socket, so that nothing unfiltered is ever queued."""
    check(program)
    insns = (_SockFilter * len(program))(*[_SockFilter(*ins) for ins in program])
    fprog = _SockFprog(len(program), insns)
    raw = ctypes.string_at(ctypes.addressof(fprog), ctypes.sizeof(fprog))
    # the kernel copies the program during setsockopt; ``insns`` only has to live until here
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, raw)
