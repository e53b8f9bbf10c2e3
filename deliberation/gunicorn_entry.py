"""gunicorn, with gevent patching the standard library first:
`python -m deliberation.gunicorn_entry -c deploy/gunicorn.conf.py wsgi:app`.

deploy/gunicorn.conf.py loads the app in gunicorn's master before it binds its port
(`preload_app`), so that a restarted process takes connections only once it can serve them.
The app is then imported before gunicorn's gevent worker patches the standard library in
the forked worker, which is too late (threads, locks and sockets made at import time would be
the blocking kind), and gunicorn itself imports `threading` and `ssl` before it reads its
configuration. So the patch comes here, before anything else is imported, as in
`deliberation.serve`; the worker's own patch_all then finds everything patched already.
"""

from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402

from gunicorn.app.wsgiapp import run  # noqa: E402


def main() -> None:
    sys.argv[0] = "gunicorn"
    run()


if __name__ == "__main__":
    main()
