import shlex
import subprocess

REPORT_DIR = "/var/reports"


def export_report(student_name, fmt):
    subprocess.run(f"school-report --format {fmt} --student '{student_name}' > {REPORT_DIR}/out", shell=True)


def archive(directory):
    subprocess.run("tar czf backup.tgz " + shlex.quote(directory), shell=True)
