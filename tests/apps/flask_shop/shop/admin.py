import subprocess

from flask.views import MethodView


class AdminView(MethodView):
    def get(self, section):
        output = subprocess.check_output("du -sh /srv/" + section, shell=True)
        return output

    def post(self, section):
        subprocess.run(["systemctl", "restart", "shop"])
        return "restarted"
