import os

ROOT = "/srv/files"


def read_file(name):
    with open(os.path.join(ROOT, name), "rb") as handle:
        return handle.read()


def read_inside_root(name):
    path = os.path.realpath(os.path.join(ROOT, name))
    if not path.startswith(ROOT + os.sep):
        raise PermissionError(name)
    with open(path, "rb") as handle:
        return handle.read()
