"""The local AWS process: moto's server with the project's extensions installed.

Usage: python -m localaws.server_process --port PORT --state-dir DIR [--owner-pid PID]

The owner is the process the server serves (the suite): the sweeper (`python -m suite.sweeper
--offline`) takes a server whose owner is gone for a leftover.
"""
from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
import threading
import traceback
from typing import Callable


SWITCH_INTERVAL = 0.0005  # seconds
# The services whose models a run's server reads ahead (a service not listed is read at its first use, as before).
SERVICES = ("cloudformation", "cloudtrail", "ec2", "ecr", "ecs", "iam", "lambda", "logs", "rds",
            "resourcegroupstaggingapi", "s3", "secretsmanager", "ssm", "sts")


def _profile_every_thread() -> list:
    """Each thread's CPU time (cProfile with the thread's own clock), this one's and every thread started later."""
    import cProfile
    import threading
    import time
    profiles = []

    def start(*_: object) -> None:
        profile = cProfile.Profile(time.thread_time)
        profiles.append(profile)
        profile.enable()

    threading.setprofile(start)
    start()
    return profiles


def _dump(profiles: list, path: str) -> None:
    import pstats
    merged = None
    for profile in list(profiles):
        try:
            profile.create_stats()
            merged = pstats.Stats(profile) if merged is None else merged.add(profile)
        except Exception:  # noqa: BLE001 - a thread's profile still being written: left out
            continue
    if merged is not None:
        merged.dump_stats(path)


_stopping = False


def _stop_once(signum: int, frame: object) -> None:
    """The first SIGTERM or SIGINT stops the server; the cleanup that follows is not cut short by another. The
    kernel sends a parent-death signal again each time the server's parent is reparented to another thread of its
    dying owner: a SIGKILLed suite with many threads sends several, and the second once interrupted stop_all, which
    left a database's socket file behind."""
    global _stopping
    if _stopping:
        return
    _stopping = True
    sys.exit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--owner-pid", type=int, default=None)
    args = parser.parse_args(argv)
    serve(args.port, args.state_dir)


def serve(port: int, state_dir: str, on_exit: Callable[[int], None] | None = None) -> None:
    """Serve on `port` until SIGTERM or SIGINT, then stop what the extensions started; exits the process
    (`on_exit` is told its status first)."""
    os.environ["LOCALAWS_STATE_DIR"] = state_dir
    os.environ["LOCALAWS_ENDPOINT"] = f"http://127.0.0.1:{port}"
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # Many threads share the server's GIL: requests, relays, and CPU work such as an instance's image build.
    # A thread waiting on I/O gets it back within this, not Python's 5 ms: an instance metadata service that
    # answers after the SDK's 1 s timeout (AWS answers in milliseconds) leaves the instance without credentials.
    sys.setswitchinterval(SWITCH_INTERVAL)

    profile_to = os.environ.get("LOCALAWS_CPU_PROFILE")  # benchmarks: where the server's CPU goes (cProfile)
    if profile_to:
        profiles = _profile_every_thread()

    from localaws import shared_data_loader
    shared_data_loader.install()  # before moto's import, which makes boto3 sessions
    from localaws.ext import install_all, stop_all
    from moto import server

    server.signal_handler = _stop_once  # moto installs it for SIGTERM and SIGINT when it starts serving
    install_all()
    # Read ahead while the server waits for its first requests, not during the stack's creation (a server forked
    # from the preloaded process has read it all already: then this costs nothing).
    threading.Thread(target=read_ahead, name="read-ahead", daemon=True).start()
    # moto's thousands of modules, classes and functions live as long as the process: the cyclic
    # garbage collector need not look at them again at every full collection.
    gc.freeze()
    status = 0
    try:
        server.main(["-H", "127.0.0.1", "-p", str(port)])
    except SystemExit as stopped:  # SIGTERM or SIGINT: moto's handler exits 0
        status = stopped.code if isinstance(stopped.code, int) else 1
    except BaseException:  # noqa: BLE001 - said in the log, and in the exit status
        traceback.print_exc()
        status = 1
    finally:
        stop_all()
        if profile_to:
            _dump(profiles, profile_to)
    # Everything it started has stopped: skip the interpreter's teardown of moto's thousands of
    # modules and its idle threads (about a second at the end of every run).
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    if on_exit is not None:
        on_exit(status)
    os._exit(status)


def read_ahead() -> None:
    """What a server's first requests would read at their first use: the services' models (about a second and a half
    of CPU, mostly during a stack's creation)."""
    from localaws import shared_data_loader

    shared_data_loader.preload(SERVICES)


if __name__ == "__main__":
    main()
