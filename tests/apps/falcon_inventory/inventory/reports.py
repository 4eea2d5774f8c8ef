import os
import shlex
import subprocess

REPORTS = "/var/lib/inventory/reports"


def read(name):
    with open(REPORTS + "/" + name + ".txt") as handle:
        return handle.read()


def rebuild(name):
    subprocess.run("make -C " + REPORTS + " " + shlex.quote(name), shell=True)
    os.system("touch " + REPORTS + "/" + name + ".stamp")
