"""Load a gunicorn.conf.py the way Gunicorn does, and check what `gunicorn --check-config` does not.

Usage: check-gunicorn-conf.py <file>. Prints one problem per line and exits 1 on any.
- Gunicorn execs the file and copies the names it knows as settings, silently ignoring the rest:
  a misspelt setting (`worker_connection`) would be dropped on the droplet. Unknown names fail here.
- Each known setting goes through Gunicorn's own validator (Config.set), as when Gunicorn starts.
- The worker class is resolved (imported), as the arbiter does: "gevent" needs gevent installed.
- Every bind is parsed with Gunicorn's own parser.
"""
import sys
import types

from gunicorn import util
from gunicorn.app.base import Application
from gunicorn.config import Config


class ConfigOnly(Application):
    """An application that only loads configuration (no argv parsing, no WSGI import)."""

    def __init__(self):  # noqa: D107 (skip BaseApplication.__init__, which parses sys.argv)
        self.usage, self.prog, self.callable, self.logger = None, None, None, None
        self.cfg = Config()

    def init(self, parser, opts, args):
        return None

    def load(self):
        return None


def main(path):
    app = ConfigOnly()
    problems = []
    names = app.load_config_from_file(path)  # exec + Config.set for every known setting
    for name, value in names.items():
        if name.startswith("_") or isinstance(value, types.ModuleType):
            continue
        if name not in app.cfg.settings:
            problems.append(f"unknown setting {name!r}: Gunicorn ignores it")
    worker = app.cfg.worker_class  # imports the class, raising like the arbiter would
    print(f"worker_class {app.cfg.worker_class_str} -> {worker.__module__}.{worker.__name__}")
    for bind in app.cfg.bind:
        address = util.parse_address(bind)
        print(f"bind {bind} -> {address!r}")
        if isinstance(address, str) and not address.startswith("/"):
            problems.append(f"bind {bind!r}: a unix socket path must be absolute")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
