"""Confine the learner's process with Landlock (Linux 5.13+, unprivileged): ``confine``.

Once confined, the process and everything it starts (a Landlock domain is inherited and cannot
be left) may write files only beneath the folders it is given (its copy of the learner's folder
and a temporary folder), may not ptrace, read the memory of or open the descriptors of any
process outside the domain (the checker, the grader: Landlock's ptrace scoping, which holds for
root too), and, from ABI 6, may not signal them (so it cannot kill the checker). Reading stays
free. Where Landlock is missing (another system, an older kernel, a container that blocks it),
nothing is confined and ``confine`` says why.
"""

from __future__ import annotations

import os
import struct

SYS_CREATE, SYS_ADD_RULE, SYS_RESTRICT = 444, 445, 446  # the same number on every Linux arch
CREATE_VERSION = 1
RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38
WRITE_FILE, TRUNCATE = 1 << 1, 1 << 14
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR, MAKE_REG = (1 << i for i in range(4, 9))
MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM, REFER = (1 << i for i in range(9, 14))
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1, 2


def _handled(abi: int) -> int:
    rights = WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_CHAR | MAKE_DIR | MAKE_REG
    rights |= MAKE_SOCK | MAKE_FIFO | MAKE_BLOCK | MAKE_SYM
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    return rights


def confine(folders: list[str], files: list[str] = ()) -> str | None:  # type: ignore[assignment]
    """Confine this process (see the module): writable ``folders`` (everything beneath them)
    and ``files`` (written, not created); None when done, else why it could not be."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
    except (OSError, ImportError) as e:
        return f"no C library to reach Landlock ({e})"
    long = ctypes.c_long
    abi = libc.syscall(long(SYS_CREATE), None, long(0), long(CREATE_VERSION))
    if abi < 1:
        return f"Landlock is not available here ({os.strerror(ctypes.get_errno())})"
    handled = _handled(abi)
    attr = struct.pack("<QQQ", handled, 0, SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL)
    size = 24 if abi >= 6 else 8
    buf = ctypes.create_string_buffer(attr[:size], size)
    ruleset = libc.syscall(long(SYS_CREATE), buf, long(size), long(0))
    if ruleset < 0:
        return f"Landlock refused the ruleset ({os.strerror(ctypes.get_errno())})"
    try:
        rules = [(p, handled) for p in folders] + [
            (p, handled & (WRITE_FILE | TRUNCATE)) for p in files
        ]
        for path, rights in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # a folder that is not there needs no rule
            try:
                rule = ctypes.create_string_buffer(struct.pack("<Qi", rights, fd), 12)
                if libc.syscall(
                    long(SYS_ADD_RULE), long(ruleset), long(RULE_PATH_BENEATH), rule, long(0)
                ):
                    return f"Landlock refused a rule for {path} ({os.strerror(ctypes.get_errno())})"
            finally:
                os.close(fd)
        if libc.prctl(long(PR_SET_NO_NEW_PRIVS), long(1), long(0), long(0), long(0)):
            return f"no_new_privs could not be set ({os.strerror(ctypes.get_errno())})"
        if libc.syscall(long(SYS_RESTRICT), long(ruleset), long(0)):
            return f"Landlock could not confine the process ({os.strerror(ctypes.get_errno())})"
    finally:
        os.close(ruleset)
    return None
