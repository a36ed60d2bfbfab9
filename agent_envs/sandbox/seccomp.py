"""A small seccomp-BPF deny list for the sandbox, built without libseccomp.

The filter blocks the system calls a confined Python program never needs and that are
the usual first steps of a kernel or namespace escape: tracing other processes, new
namespaces, mounts, kernel modules, BPF, keyrings, ``io_uring`` (which bypasses
seccomp); and System V / POSIX-queue IPC objects, which would outlive a session that a
recycled sandbox replaces. Everything else is allowed. Bubblewrap loads it (``--seccomp FD``), which
also sets ``no_new_privs``.
"""

from __future__ import annotations

import errno
import platform
import struct

__all__ = ["SECCOMP_ARCHES", "build_seccomp_filter"]

# struct sock_filter opcodes
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06
_RET_ALLOW = 0x7FFF0000
_RET_KILL_PROCESS = 0x80000000
_RET_ERRNO = 0x00050000

# namespace flags of clone(2): CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET
_CLONE_NEW_MASK = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000
_CLONE_NEW_MASK |= 0x20000000 | 0x40000000

# AUDIT_ARCH value, then syscall numbers by name
SECCOMP_ARCHES: dict[str, tuple[int, dict[str, int]]] = {
    "x86_64": (
        0xC000003E,
        {
            "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311,
            "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161,
            "unshare": 272, "setns": 308, "kexec_load": 246, "kexec_file_load": 320,
            "init_module": 175, "finit_module": 313, "delete_module": 176, "bpf": 321,
            "perf_event_open": 298, "userfaultfd": 323, "keyctl": 250, "add_key": 248,
            "request_key": 249, "reboot": 169, "swapon": 167, "swapoff": 168, "acct": 163,
            "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
            "name_to_handle_at": 303, "open_by_handle_at": 304,
            "shmget": 29, "semget": 64, "msgget": 68, "mq_open": 240,
            "clone": 56, "clone3": 435,
        },
    ),
    "aarch64": (
        0xC00000B7,
        {
            "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271,
            "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51,
            "unshare": 97, "setns": 268, "kexec_load": 104, "kexec_file_load": 294,
            "init_module": 105, "finit_module": 273, "delete_module": 106, "bpf": 280,
            "perf_event_open": 241, "userfaultfd": 282, "keyctl": 219, "add_key": 217,
            "request_key": 218, "reboot": 142, "swapon": 224, "swapoff": 225, "acct": 89,
            "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
            "name_to_handle_at": 264, "open_by_handle_at": 265,
            "shmget": 194, "semget": 190, "msgget": 186, "mq_open": 180,
            "clone": 220, "clone3": 435,
        },
    ),
}  # fmt: skip


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def build_seccomp_filter(machine: str | None = None) -> bytes | None:
    """Return the compiled BPF program for ``machine`` (default: this host), or None.

    None means the architecture is not supported, so the caller runs without seccomp
    (and reports the weaker isolation level).

    Example:
        >>> program = build_seccomp_filter("x86_64")
        >>> len(program) % 8, len(program) // 8 > 30
        (0, True)
        >>> build_seccomp_filter("sparc") is None
        True
    """
    machine = machine or platform.machine()
    if machine not in SECCOMP_ARCHES:
        return None
    arch, numbers = SECCOMP_ARCHES[machine]
    deny = _RET_ERRNO | errno.EPERM
    prog = [
        _insn(_LD_W_ABS, 0, 0, 4),  # seccomp_data.arch
        _insn(_JEQ_K, 1, 0, arch),
        _insn(_RET_K, 0, 0, _RET_KILL_PROCESS),  # foreign ABI (e.g. int 0x80)
        _insn(_LD_W_ABS, 0, 0, 0),  # seccomp_data.nr
    ]
    if machine == "x86_64":  # x32 system calls carry bit 30
        prog += [_insn(_JGE_K, 0, 1, 0x40000000), _insn(_RET_K, 0, 0, _RET_KILL_PROCESS)]
    for name, number in numbers.items():
        if name in ("clone", "clone3"):
            continue
        prog += [_insn(_JEQ_K, 0, 1, number), _insn(_RET_K, 0, 0, deny)]
    # clone3's flags live in memory seccomp cannot read: ENOSYS makes libc fall back to clone
    prog += [_insn(_JEQ_K, 0, 1, numbers["clone3"])]
    prog += [_insn(_RET_K, 0, 0, _RET_ERRNO | errno.ENOSYS)]
    prog += [
        _insn(_JEQ_K, 0, 3, numbers["clone"]),
        _insn(_LD_W_ABS, 0, 0, 16),  # low half of args[0] (the flags)
        _insn(_JSET_K, 0, 1, _CLONE_NEW_MASK),
        _insn(_RET_K, 0, 0, deny),
        _insn(_RET_K, 0, 0, _RET_ALLOW),
    ]
    return b"".join(prog)
