"""A small classic-BPF interpreter with the kernel's semantics, to run steth's socket filters on crafted
packets without root: A and X registers, loads of words/halfwords/bytes at absolute and indexed
offsets, the IPv4 header-length load, conditional and unconditional jumps, returns.

As in the kernel, a load past the end of the packet ends the program with 0 (drop). An instruction
this interpreter does not know fails the test instead of being guessed at.
"""

from __future__ import annotations

from steth.host import bpf

_SIZES = {bpf.W: 4, bpf.H: 2, bpf.B: 1}


class Unsupported(AssertionError):
    pass


def run(program: list[bpf.Insn], packet: bytes) -> int:
    """What the program returns for ``packet``: 0 drops it, n > 0 keeps its first n bytes."""
    bpf.check(program)
    a = x = 0
    pc = 0
    while True:
        code, jt, jf, k = program[pc]
        cls = code & 0x07
        pc += 1
        if cls in (bpf.LD, bpf.LDX):
            mode, size = code & 0xE0, code & 0x18
            if cls == bpf.LDX and mode == bpf.MSH and size == bpf.B:
                if k >= len(packet):
                    return 0
                x = 4 * (packet[k] & 0x0F)
                continue
            if cls != bpf.LD or mode not in (bpf.ABS, bpf.IND) or size not in _SIZES:
                raise Unsupported(f"load {code:#04x}")
            offset = k + (x if mode == bpf.IND else 0)
            if k >= 0x80000000:
                raise Unsupported(f"ancillary load at {k:#x}")
            n = _SIZES[size]
            if offset + n > len(packet):
                return 0
            a = int.from_bytes(packet[offset : offset + n], "big")
        elif cls == bpf.JMP:
            op = code & 0xF0
            if code & 0x08:
                raise Unsupported(f"jump on X {code:#04x}")
            if op == 0x00:  # JA
                pc += k
                continue
            if op == bpf.JEQ:
                taken = a == k
            elif op == bpf.JGT:
                taken = a > k
            elif op == bpf.JGE:
                taken = a >= k
            elif op == bpf.JSET:
                taken = bool(a & k)
            else:
                raise Unsupported(f"jump {code:#04x}")
            pc += jt if taken else jf
        elif cls == bpf.RET:
            if code & 0x18 == 0x10:  # RET A
                return a
            if code & 0x18:
                raise Unsupported(f"return {code:#04x}")
            return k
        else:
            raise Unsupported(f"instruction class {cls} ({code:#04x})")
