import os
import shlex
import subprocess

PAGES = "/srv/wiki/pages"


def export_page(title, fmt):
    os.system("pandoc -t " + fmt + " " + PAGES + "/" + title + ".md")


def archive(name):
    subprocess.run("tar czf /tmp/wiki.tgz " + shlex.quote(name), shell=True)


def read_page(name):
    with open(os.path.join(PAGES, name)) as handle:
        return handle.read()
