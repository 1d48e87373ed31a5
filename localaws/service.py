"""Start, bootstrap and stop the local AWS (a `localaws.server_process` process on loopback).

After start the server enforces IAM like AWS: the suite acts as an administrator IAM user
created at bootstrap, exactly as a live run acts with the operator's credentials.
The server is tied to the thread that starts it (localaws/processes.py): if the suite dies,
even by SIGKILL, the server gets SIGTERM and stops everything it started. It runs in a
session of its own, so a Ctrl-C in the terminal reaches the suite only, which then deletes
the stack and stops the server in order.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any, Protocol

import boto3
from botocore.config import Config
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from localaws import certificates, machinery, not_modelled, processes
from localaws.access_keys import AccessKey
from localaws.network.addresses import free_port
from localaws.preloaded import ForkedServer, PreloadedUnavailable, fork_server

ACCOUNT_ID = "123456789012"
READ_TIMEOUT = 900  # seconds: longer than any work the local AWS does within one request
# A custom resource's provider that never answers fails after its ServiceTimeout (AWS's default: an hour); the
# local AWS waits for it inside CreateStack, so it waits at most this long, within READ_TIMEOUT
# (localaws/ext/cfn_custom_resources.py).
CUSTOM_RESOURCE_TIMEOUT = 600
ADMIN_USER = "workshop-admin"
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class LocalAWSError(RuntimeError):
    pass


class ClientCredentials(Protocol):
    """Any access key a client can sign with (the suite's own, or one the local AWS issued)."""

    def as_client_kwargs(self) -> dict[str, str]: ...


KEPT_FILE = "kept.json"  # how a later run reaches a server kept running (endpoint, its pid, the admin's key)


def server_environment() -> dict[str, str]:
    """A local AWS process's environment: this one's, the project importable, and no AWS credentials (the server
    needs none and must not see any)."""
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.setdefault("LOCALAWS_CUSTOM_RESOURCE_TIMEOUT", str(CUSTOM_RESOURCE_TIMEOUT))
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        env.pop(name, None)
    return env


class LocalAWS:
    def __init__(self, state_dir: Path, region: str = "us-east-1", detached: bool = False,
                 accounts: tuple[str, ...] = ()):
        self.state_dir = Path(state_dir)
        # More accounts than its own (moto is multi-account): each with an administrator of its own, whose
        # access key is what tells moto the account of a request (moto.iam.models.get_account_id_from).
        self.extra_accounts = tuple(account for account in accounts if account != ACCOUNT_ID)
        self.admins: dict[str, AccessKey] = {}
        self.region = region
        self.port = free_port()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | ForkedServer | None = None
        self.admin: AccessKey | None = None
        self.caller: AccessKey | None = None  # act_as_caller: the principal the suite's clients sign as instead
        self.caller_user: str | None = None
        self.stopping = False  # stop() was asked: the server's end is no failure
        # Detached (--keep-stack): not tied to the starting thread, so it outlives the run that started it
        # until `keep` hands it over or `stop` ends it; the sweeper finds it once its owner is gone.
        self.detached = detached
        self.attached_pid: int | None = None  # a kept server this process did not start

    @classmethod
    def attach(cls, state_dir: Path) -> "LocalAWS":
        """The server a --keep-stack run left serving in `state_dir`; LocalAWSError if it is not there."""
        state_dir = Path(state_dir)
        try:
            kept = json.loads((state_dir / KEPT_FILE).read_text())
        except (OSError, ValueError) as error:
            raise LocalAWSError(f"{state_dir} is not a kept local AWS ({KEPT_FILE} unreadable: {error})") from None
        local = cls(state_dir, region=kept["region"])
        local.port, local.endpoint_url, local.attached_pid = kept["port"], kept["endpoint_url"], kept["pid"]
        local.admin = AccessKey(kept["access_key_id"], kept["secret_access_key"])
        try:
            urllib.request.urlopen(f"{local.endpoint_url}/moto-api/", timeout=5).read()
        except OSError as error:
            raise LocalAWSError(f"the local AWS kept in {state_dir} does not answer at {local.endpoint_url} "
                                f"({error}): it was stopped (python -m suite.sweeper --offline --delete?)") from None
        return local

    def keep(self) -> None:
        """Leave the (detached) server serving after this run: write down how to reach it, for the owner only."""
        assert self.detached and self.process is not None and self.admin is not None
        kept = {"endpoint_url": self.endpoint_url, "port": self.port, "region": self.region, "pid": self.process.pid,
                "access_key_id": self.admin.access_key_id, "secret_access_key": self.admin.secret_access_key}
        path = self.state_dir / KEPT_FILE
        path.touch(mode=0o600)
        path.write_text(json.dumps(kept))

    @property
    def log_path(self) -> Path:
        return self.state_dir / "localaws.log"

    def start(self) -> "LocalAWS":
        """Launch the server (unless `launch` did), await it, and make its administrator."""
        if self.process is None:
            self.launch()
        try:
            self._wait_until_serving()
            self.admin = self._bootstrap_admin()
            self.admins = {ACCOUNT_ID: self.admin}
            for account in self.extra_accounts:  # before IAM is enforced: moto's account header is honoured
                self.admins[account] = self._bootstrap_admin(account)
            self._enforce_iam()
        except BaseException:  # a Ctrl-C while it starts, too
            self.stop()
            raise
        return self

    def launch(self) -> "LocalAWS":
        """The server's process, started: it spends seconds importing moto, which the caller may spend on
        other work before `start`. Call it from the thread that will stop it (the process dies with that thread)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        env = server_environment()
        preloaded = os.environ.get("LOCALAWS_PRELOADED")
        if preloaded and not self.detached:  # the project's tests: forked, the import already done
            try:
                self.process = fork_server(preloaded, self.port, self.state_dir, env, self.log_path)
                return self
            except PreloadedUnavailable:
                pass
        with open(self.log_path, "ab") as log:
            command = [sys.executable, "-m", "localaws.server_process", "--port", str(self.port),
                       "--state-dir", str(self.state_dir), "--owner-pid", str(os.getpid())]
            self.process = subprocess.Popen(
                command if self.detached else processes.tied(command),
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )
        return self

    @retry(stop=stop_after_delay(30), wait=wait_fixed(0.1), retry=retry_if_exception_type(OSError), reraise=True)
    def _wait_until_serving(self) -> None:
        if self.process and self.process.poll() is not None:
            raise LocalAWSError(f"the local AWS exited at start; see {self.log_path}:\n{self._log_tail()}")
        urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=1).read()

    @property
    def rds_ca_bundle(self) -> Path:
        """The local AWS's CA, which stands in for the RDS CA bundle (localaws/certificates.py)."""
        return certificates.bundle_in(self.state_dir)

    def violations(self) -> list[dict[str, str]]:
        """The answers the server sent unlike AWS's model (localaws/ext/response_shapes.py): each
        {service, operation, member, problem}, once."""
        try:
            lines = (self.state_dir / "response-violations.jsonl").read_text().splitlines()
        except OSError:
            return []
        return [json.loads(line) for line in lines if line.strip()]

    def not_modelled(self) -> list[str]:
        """What the stacks deployed here asked for that the local AWS does not model
        (localaws/ext/cfn_not_modelled.py): each setting once, sorted."""
        return sorted({entry["setting"] for entry in not_modelled.recorded(self.state_dir)})

    def gone(self) -> str | None:
        """Why the server no longer serves (it exited on its own), or None while it runs or after stop()."""
        if self.attached_pid is not None and not self.stopping and not _alive(self.attached_pid):
            return f"the local AWS serving from {self.state_dir} (process {self.attached_pid}) stopped during the run"
        if self.process is None or self.stopping or self.process.poll() is None:
            return None
        return f"the local AWS exited with status {self.process.returncode} during the run (see {self.log_path})"

    def machinery_failure(self) -> str | None:
        """The first failure of the local AWS's own machinery (localaws/machinery.py): a sandbox or a runtime
        that could not start; with its own last lines. None while there is none."""
        found = machinery.failures(self.state_dir)
        if not found:
            return None
        first = found[0]
        lines = first.get("last_lines", "")[-600:]
        last = f" (its last lines: {lines})" if lines and lines not in first["failure"] else ""
        return f"{first['failure']}{last}"

    def problems(self, lines: int = 25) -> str | None:
        """What went wrong inside the local AWS, in its own words: whether it died, and the end
        of its log from the last traceback or error (a full disk shows here as `No space left on
        device`, where its clients only saw 500 Internal Server Error). None if nothing did."""
        died = self.process is not None and self.process.poll() not in (None, 0, -signal.SIGTERM)
        try:
            log = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            log = []
        tracebacks = [index for index, line in enumerate(log) if line.startswith("Traceback")]
        errors = [index for index, line in enumerate(log) if " ERROR " in line or "Errno" in line]
        if not died and not tracebacks and not errors:
            return None
        start = (tracebacks or errors or [max(len(log) - lines, 0)])[-1]  # the last error, from its start
        shown = log[start:start + lines]
        head = f"the local AWS exited with status {self.process.returncode}; " if died and self.process else ""
        return f"{head}{self.log_path}:\n" + "\n".join(shown)

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def client(self, service: str, credentials: ClientCredentials | None = None) -> Any:
        creds = credentials or self.caller or self.admin or AccessKey("bootstrap", "bootstrap")
        # The local AWS does inline what AWS does after answering (CreateStack creates the stack, running a
        # rotation function until its timeout): botocore's 60 s read timeout would retry a CreateStack
        # already under way, and AlreadyExistsException would hide the stack's real failure.
        return boto3.client(service, region_name=self.region, endpoint_url=self.endpoint_url,
                            config=Config(read_timeout=READ_TIMEOUT), **creds.as_client_kwargs())

    def _bootstrap_admin(self, account: str | None = None) -> AccessKey:
        iam = self.client("iam")
        if account:  # moto's server-mode header for "this request is in that account" (docs: multi_account)
            iam.meta.events.register("before-sign.iam.*", lambda request, **_: request.headers.__setitem__(
                "x-moto-account-id", account))
        iam.create_user(UserName=ADMIN_USER, Tags=[{"Key": "Project", "Value": "smproj"}])
        iam.put_user_policy(UserName=ADMIN_USER, PolicyName="administrator", PolicyDocument=json.dumps(ADMIN_POLICY))
        key = iam.create_access_key(UserName=ADMIN_USER)["AccessKey"]
        return AccessKey(key["AccessKeyId"], key["SecretAccessKey"])

    def act_as_caller(self, policy_document: str, user: str) -> AccessKey:
        """From now on the clients sign as a new IAM user `user` holding only `policy_document` (a managed policy,
        as an account's administrator would hand a caller one): whatever the suite calls outside it is denied.
        CreatePolicy refuses a document IAM would refuse (MalformedPolicyDocument)."""
        iam = self.client("iam", self.admin)
        arn = iam.create_policy(PolicyName=user, PolicyDocument=policy_document)["Policy"]["Arn"]
        iam.create_user(UserName=user)
        iam.attach_user_policy(UserName=user, PolicyArn=arn)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        self.caller, self.caller_user = AccessKey(key["AccessKeyId"], key["SecretAccessKey"]), user
        return self.caller

    def remove_caller(self) -> None:
        """Delete the user act_as_caller made, its key and its policy (a kept local AWS outlives the run)."""
        if self.caller_user is None or self.admin is None:
            return
        iam, user = self.client("iam", self.admin), self.caller_user
        arn = f"arn:aws:iam::{ACCOUNT_ID}:policy/{user}"
        for key in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]:
            iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
        iam.detach_user_policy(UserName=user, PolicyArn=arn)
        iam.delete_user(UserName=user)
        iam.delete_policy(PolicyArn=arn)
        self.caller = self.caller_user = None

    def _enforce_iam(self) -> None:
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset-auth", data=b"0", method="POST",
                                         headers={"Content-Type": "text/plain"})
        urllib.request.urlopen(request, timeout=5).read()

    def stop(self) -> None:
        self.stopping = True
        if self.process is None or self.process.poll() is not None:
            return
        # SIGTERM lets the server stop its database processes; then the whole group goes.
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
