import subprocess
import urllib.request


def compress(name):
    return subprocess.run("gzip -k " + name, shell=True, capture_output=True).returncode


def disk_usage():
    return subprocess.run("du -sh /srv/files", shell=True, capture_output=True).stdout


def fetch_preview(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read(2048)
