"""`python limited.py MEMORY_BYTES CPU_SECONDS DROP COMMAND...`: runs COMMAND (exec, same pid)
with its address space, CPU time and core dumps limited, so a runaway case fails alone.

DROP=1 (only meaningful for root) also removes the capabilities that let root ignore file
permissions (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) from the bounding set: after the exec,
COMMAND is root that permissions apply to, so `chmod 0` makes a file unreadable for it too.
"""

import ctypes
import os
import resource
import sys

PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE = 1
CAP_DAC_READ_SEARCH = 2

memory, cpu_seconds, drop, *command = sys.argv[1:]
resource.setrlimit(resource.RLIMIT_AS, (int(memory), int(memory)))
resource.setrlimit(resource.RLIMIT_CPU, (int(cpu_seconds), int(cpu_seconds)))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
if drop == "1":
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            sys.exit(f"limited.py: cannot drop capability {capability}: {os.strerror(ctypes.get_errno())}")
os.execvp(command[0], command)
