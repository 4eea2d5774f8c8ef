import subprocess


def send_digest(address):
    subprocess.run("mail -s 'Forum digest' " + address + " < /var/lib/forum/digest.txt", shell=True)
