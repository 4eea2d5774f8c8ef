"""`python limited.py MEMORY_BYTES CPU_SECONDS COMMAND...`: runs COMMAND (exec, same pid) with
its address space, CPU time and core dumps limited, so a runaway case fails alone."""

import os
import resource
import sys

memory, cpu_seconds, *command = sys.argv[1:]
resource.setrlimit(resource.RLIMIT_AS, (int(memory), int(memory)))
resource.setrlimit(resource.RLIMIT_CPU, (int(cpu_seconds), int(cpu_seconds)))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
os.execvp(command[0], command)
