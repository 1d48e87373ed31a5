"""An instance's first boot, as cloud-init does it: its user data runs once, as root.

AWS (EC2 user guide, "Run commands when you launch an EC2 instance with user data"): a user data
script (it starts with `#!`) runs once, as root, late in the first boot, after the network is up
and while the instance is already "running"; its output goes to /var/log/cloud-init-output.log
and to the console (GetConsoleOutput); when cloud-init has finished it writes
/run/cloud-init/result.json, whose `errors` names a failed script ("scripts_user"). Other user data
(cloud-config, MIME parts) is for cloud-init's modules, not run as a script.
Here the script runs in the instance's sandbox through `nsenter`, like Run Command's scripts
(localaws/ext/ssm_commands.py).
"""
from __future__ import annotations

import base64
import subprocess
from typing import Any

from localaws.hosts.sandbox import run_inside

TIMEOUT = 1800  # seconds; cloud-init itself has none, a stuck script just never ends
# The script comes on stdin; its output goes to the log and to stdout (the console).
RUNNER = r"""set -u
mkdir -p /run/cloud-init /var/log
script=/run/cloud-init/part-001
cat > "${script}"
chmod 0700 "${script}"
status=0
if [ "$(head -c 2 "${script}")" = "#!" ]; then
  "${script}" < /dev/null 2>&1 | tee -a /var/log/cloud-init-output.log
  status="${PIPESTATUS[0]}"
else
  echo "user data is not a script: left to cloud-init's modules" | tee -a /var/log/cloud-init-output.log
fi
if [ "${status}" -eq 0 ]; then errors='[]'; else
  errors="[\"('scripts_user', RuntimeError('Runparts: 1 failures (part-001) in 1 attempted commands'))\"]"
fi
printf '{"v1": {"datasource": "DataSourceEc2Local", "errors": %s}}\n' "${errors}" > /run/cloud-init/result.json.tmp
mv /run/cloud-init/result.json.tmp /run/cloud-init/result.json
echo "Cloud-init v. 22.2.2 finished. Datasource DataSourceEc2Local. user data exit status ${status}"
"""


def user_data_script(user_data: Any) -> bytes:
    """The instance's user data, decoded (moto keeps it base64-encoded, as a string or its own type;
    EC2 and CloudFormation refused anything else: localaws/ext/ec2_hosts.py)."""
    if user_data is None:
        return b""
    encoded = user_data.as_bytes() if hasattr(user_data, "as_bytes") else str(user_data).encode()
    return base64.b64decode(encoded, validate=True)


def first_boot(pid: int, user_data: Any) -> str:
    """Run the user data in the sandbox `pid` is in; what it printed (for the console)."""
    script = user_data_script(user_data)
    try:
        done = run_inside(pid, "/bin/bash", f"cd / && {RUNNER}", TIMEOUT, stdin=script)
    except subprocess.TimeoutExpired as expired:
        return (expired.stdout or b"").decode(errors="replace") + f"\nuser data still running after {TIMEOUT} s\n"
    return (done.stdout + done.stderr).decode(errors="replace")
