import os

EXPORT_DIR = "/srv/pastes/exports"


def write_export(filename, content):
    path = os.path.join(EXPORT_DIR, filename)
    with open(path, "w") as handle:
        handle.write(content)
    return path
