import shlex
import subprocess


def announce(room, topic):
    subprocess.run("notify-room " + shlex.quote(room) + " '" + topic + "'", shell=True)
