"""The one process that runs Madang's periodic jobs (closing due ballots, phase timers, ...).

With several app workers, exactly one process must run the jobs, or each would run them.
Production runs this as its own service (deploy/systemd/madang-scheduler.service):

    MADANG_ENV=production DATABASE_URL=... REDIS_URL=... python -m scripts.run_scheduler

Its broadcasts reach the clients of every worker through the Redis message queue, so
REDIS_URL is required. A single-process site (`python -m deliberation.serve`) needs none of
this: it runs the jobs itself when RUN_SCHEDULER=1.
"""

import logging
import signal
import sys
import time

from deliberation import create_app
from deliberation.config import config_for_environment
from deliberation.core.scheduler import run_due_jobs_once

TICK_S = 0.5


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    log = logging.getLogger("madang.scheduler")
    # Plain threads here: this process serves no sockets, it only publishes to Redis.
    app = create_app(config_for_environment(), {"SOCKETIO_ASYNC_MODE": "threading"})
    if not app.config.get("REDIS_URL"):
        log.error(
            "REDIS_URL is not set: this process's broadcasts would reach nobody. "
            "A single-process site runs the jobs in the server with RUN_SCHEDULER=1."
        )
        return 2
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("scheduler running (tick %.1f s)", TICK_S)
    last_run: dict[str, float] = {}
    while not stopping:
        run_due_jobs_once(app, last_run)
        time.sleep(TICK_S)
    log.info("scheduler stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
