"""What a benchmark ran on: the CPU model, its vector instruction set and the float kernels used.

Timings and trained-model figures differ between CPUs of one machine kind (an AVX2-only CPU ran
the demo's image networks 2-3x slower than an AVX-512 one, and picks other float kernels), so
every CSV of ``benchmarks/`` records these with its rows or in its header.
"""
from __future__ import annotations

import os

#: Variables that change which float kernels run (they make an AVX-512 CPU act as an AVX2 one).
KERNEL_VARIABLES = ("ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS")


def _cpuinfo():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            text = handle.read()
    except OSError:
        return "", set()
    model, flags = "", set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and not model:
            model = value.strip()
        elif key.strip() == "flags" and not flags:
            flags = set(value.split())
    return model, flags


def instruction_set(flags):
    """The widest x86 vector extension among ``flags`` ("avx512", "avx2", "avx", "sse4_2" or "?")."""
    for name, flag in (("avx512", "avx512f"), ("avx2", "avx2"), ("avx", "avx"), ("sse4_2", "sse4_2")):
        if flag in flags:
            return name
    return "?"


def machine():
    """A dict: ``cpu`` (model name), ``isa`` (widest vector set), ``torch_kernels`` (the
    capability torch dispatches to, when torch is installed) and any kernel variable set."""
    import platform

    model, flags = _cpuinfo()
    info = {"cpu": model or platform.processor() or platform.machine(), "isa": instruction_set(flags)}
    try:
        import torch

        info["torch_kernels"] = torch.backends.cpu.get_cpu_capability()
    except (ImportError, AttributeError):
        pass
    info.update({name: os.environ[name] for name in KERNEL_VARIABLES if os.environ.get(name)})
    return info


def machine_line():
    """:func:`machine` as one ``key value`` line for a CSV's ``#`` header."""
    return "; ".join(f"{key} {value}" for key, value in machine().items())


if __name__ == "__main__":
    print(machine_line())
