"""Invoices on disk and shell helpers."""

import os
import shlex
import subprocess
from pathlib import Path

INVOICE_DIRECTORY = Path("/srv/shop/invoices")


def read_invoice(name):
    with open(os.path.join(INVOICE_DIRECTORY, name)) as invoice:  # sink[a]: CWE-22
        return invoice.read()


def read_invoice_safely(name):
    base = os.path.realpath(INVOICE_DIRECTORY)
    path = os.path.realpath(os.path.join(base, name))
    if not path.startswith(base + os.sep):
        raise ValueError("outside the invoice directory")
    with open(path) as invoice:  # ok
        return invoice.read()


def compress(name):
    os.system("gzip -k " + name)  # sink[b]: CWE-78


def compress_safely(name):
    subprocess.run("gzip -k " + shlex.quote(name), shell=True, check=True)  # ok
