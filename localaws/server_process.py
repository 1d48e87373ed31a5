"""The local AWS process: moto's server with the project's extensions installed.

Usage: python -m localaws.server_process --port PORT --state-dir DIR [--owner-pid PID]

The owner is the process the server serves (the suite): the sweeper (`python -m suite.sweeper
--offline`) takes a server whose owner is gone for a leftover.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback


SWITCH_INTERVAL = 0.0005  # seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--owner-pid", type=int, default=None)
    args = parser.parse_args(argv)

    os.environ["LOCALAWS_STATE_DIR"] = args.state_dir
    os.environ["LOCALAWS_ENDPOINT"] = f"http://127.0.0.1:{args.port}"
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # Many threads share the server's GIL: requests, relays, and CPU work such as an instance's image build.
    # A thread waiting on I/O gets it back within this, not Python's 5 ms: an instance metadata service that
    # answers after the SDK's 1 s timeout (AWS answers in milliseconds) leaves the instance without credentials.
    sys.setswitchinterval(SWITCH_INTERVAL)

    from localaws.ext import install_all, stop_all
    from moto import server

    install_all()
    status = 0
    try:
        server.main(["-H", "127.0.0.1", "-p", str(args.port)])
    except SystemExit as stopped:  # SIGTERM or SIGINT: moto's handler exits 0
        status = stopped.code if isinstance(stopped.code, int) else 1
    except BaseException:  # noqa: BLE001 - said in the log, and in the exit status
        traceback.print_exc()
        status = 1
    finally:
        stop_all()
    # Everything it started has stopped: skip the interpreter's teardown of moto's thousands of
    # modules and its idle threads (about a second at the end of every run).
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    main()
