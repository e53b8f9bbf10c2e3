"""gunicorn settings for one Madang app process:
`python -m deliberation.gunicorn_entry -c deploy/gunicorn.conf.py wsgi:app` (gunicorn with gevent
patching the standard library first, which `preload_app` needs: see that module).

Flask-SocketIO's deployment guide: the gevent worker (WebSockets through simple-websocket,
no gevent-websocket needed) and exactly ONE worker per gunicorn, because gunicorn cannot
route a client's requests back to the same worker (no sticky sessions). To use more CPU
cores, run several of these on different ports behind nginx (deploy/nginx/madang.conf) with
Redis as the message queue (REDIS_URL).
"""

import os

bind = os.environ.get("MADANG_BIND", "127.0.0.1:8001")
worker_class = "gevent"
workers = 1
#: Load the app before binding the port: a restarted process refuses connections (and nginx
#: sends its people to another process) until it can serve them, instead of accepting them
#: into its backlog and holding them there for the seconds the app takes to load.
preload_app = True
#: Concurrent clients one worker holds (every open Socket.IO connection is one); the default
#: of 1,000 is too few for a roundtable. Raise `ulimit -n` (LimitNOFILE) to match.
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "10000"))
#: gevent workers answer the arbiter's heartbeat between requests; a worker that stops
#: answering for this long is killed and replaced.
timeout = 60
graceful_timeout = 20
keepalive = 5
#: Only nginx on this host talks to gunicorn; it sets X-Forwarded-Proto (the app's ProxyFix,
#: PROXY_COUNT=1, handles X-Forwarded-For).
forwarded_allow_ips = "127.0.0.1"
proc_name = os.environ.get("MADANG_WORKER_NAME", "madang")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
#: gunicorn's control socket has one default path per user; several instances on one host
#: would fight over it, and nothing here uses it.
control_socket_disable = True
loglevel = "info"


def post_worker_init(worker):
    """Small single-process sites may let this process run the periodic jobs (RUN_SCHEDULER=1).

    With several processes, leave RUN_SCHEDULER unset here and run `python -m
    scripts.run_scheduler` once instead.
    """
    from deliberation.core.memory import tune_collector

    tune_collector()  # no long collector pauses while sockets are live
    worker.log.info("app loaded, serving (pid %s)", worker.pid)
    app = worker.wsgi
    if getattr(app, "config", {}).get("REDIS_URL"):
        from deliberation.roundtables.tallies import listen_to_other_processes

        # From the start, not at a first `join`: a projector may be the only socket this
        # process holds of a session, and it must hear of votes committed elsewhere.
        listen_to_other_processes(app)
    if getattr(app, "config", {}).get("RUN_SCHEDULER"):
        from deliberation.core.scheduler import start_scheduler

        start_scheduler(app)
        worker.log.info("periodic jobs run in this process (RUN_SCHEDULER=1)")


def when_ready(server):
    """The master loaded the app and bound its port; before it forks the worker, let the
    greenlets the app started while loading (the in-memory rate limiter's 10 ms expiry timer)
    run out here, so the worker does not inherit them half-run."""
    import gevent

    gevent.sleep(0.05)
