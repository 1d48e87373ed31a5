"""`python -m localaws [--region R]`: the local AWS on its own, for trying a workshop by hand.

It starts the server as the suite does (IAM enforced, an administrator's access key), prints how to
reach it, and runs until Ctrl-C or SIGTERM; then it stops everything it started and removes its state.
"""
from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from localaws.service import LocalAWS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localaws", description=__doc__.splitlines()[0])
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args(argv)
    state_dir = Path(tempfile.mkdtemp(prefix="localaws-"))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    local = LocalAWS(state_dir, region=args.region)
    try:
        local.start()
        assert local.admin is not None
        credentials = local.admin.as_client_kwargs()
        print(f"The local AWS serves {local.endpoint_url} (region {args.region}); its log: {local.log_path}\n"
              f"  export AWS_ENDPOINT_URL={local.endpoint_url} AWS_DEFAULT_REGION={args.region} "
              f"AWS_ACCESS_KEY_ID={credentials['aws_access_key_id']} "
              f"AWS_SECRET_ACCESS_KEY={credentials['aws_secret_access_key']}\n"
              f"Ctrl-C stops it.", flush=True)
        signal.pause()
    except KeyboardInterrupt:
        pass
    except SystemExit:
        pass
    finally:
        local.stop()
        shutil.rmtree(state_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
