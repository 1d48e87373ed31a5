"""EC2 instances are real Amazon Linux hosts.

AWS: an Amazon Linux instance runs its user data once at first boot (localaws/hosts/boot.py),
answers its instance metadata at 169.254.169.254 (localaws/hosts/metadata.py: its role's keys
for the AWS CLI), has AL2023's software and what `dnf install` adds (localaws/hosts/software.py),
trusts the AWS endpoints' certificates, and lets ec2-user use sudo without a password.
Launched with a key pair, it accepts SSH on port 22 of its public
IP as `ec2-user` with that key (password login is off), allows TCP forwarding (the bastion
pattern: a direct-tcpip channel to a private address), and cloud-init prints the host's SSH
public keys to the console output between `-----BEGIN SSH HOST KEY KEYS-----` and
`-----END SSH HOST KEY KEYS-----`, which GetConsoleOutput returns. Stop/start/terminate
stop and restart the host (key pairs from CloudFormation: localaws/ext/cfn_key_pair.py).
An AWS::EC2::Instance's SecurityGroupIds are its groups (and its network interface's), as
DescribeInstances shows them; an instance launched without a group has its VPC's default group (EC2
user guide, "Default security groups for your VPCs"); moto leaves it in none, and the network model
takes the default group's rules for it (its egress admits everything, as AWS's does).
An instance gets a public IP when its launch asks for one (AssociatePublicIpAddress) or, when it
says nothing, when its subnet has MapPublicIpOnLaunch (EC2 user guide, "Public IPv4 addresses").
User data must be base64 (RunInstances and CloudFormation refuse other text: InvalidUserData.Malformed,
"Invalid BASE64 encoding of user data.").
moto 5.2.5 runs nothing, returns a fixed console text, reads only the
instance's SecurityGroups (names), so a VPC instance ends up in no group at all, gives an
instance made by CloudFormation no public IP whatever its subnet says, and takes any text as its
user data there.

Here the host is a bubblewrap sandbox running sshd (localaws.hosts.sandbox) on a loopback address
of its own, which becomes the instance's public IP (when AWS would give it one: its subnet maps
public IPs on launch, or the launch asked for one). The sandbox has a network namespace of its
own, wired to what its subnet and security groups allow (localaws/network/host_wiring.py): an instance
whose group does not admit this machine's address (127.0.0.1/32, "the internet") does not answer SSH
from it, and what runs in it (its sshd's forwarding, a Session Manager port forwarding session:
localaws/ext/ssm_sessions.py) reaches only the tasks and databases its group may reach.
"""
from __future__ import annotations

import subprocess
import threading
from pathlib import Path
from typing import Any, Callable

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.ec2.models.instances import Instance, InstanceBackend
from moto.ec2.responses.general import General
from moto.ec2.utils import Base64EncodedString, parse_user_data

from localaws.state import state_dir
from localaws import certificates
from localaws.network import addresses
from localaws.network import host_wiring as host_network
from localaws.hosts import boot as instance_boot
from localaws.hosts import metadata as instance_metadata
from localaws.hosts import software as instance_software
from localaws.network import reachability
from localaws.hosts.docker_engine import DockerEngine
from localaws.ext import ecr_login_tokens
from localaws.hosts.metadata import InstanceMetadata
from localaws.network.reachability import Interface
from localaws.hosts.sandbox import Sandbox
from localaws.removals import remove_later
from localaws.system_tools import require_tool


def host_root() -> Path:
    return state_dir() / "ec2-hosts"


SSHD_SETTINGS = """\
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
AllowUsers ec2-user
AllowTcpForwarding yes
UsePAM no
"""
SETUP = """set -eu
useradd --create-home --shell /bin/bash ec2-user
usermod -p "*" ec2-user  # key login only: no password, but not a locked account
echo 'ec2-user ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/90-cloud-init-users
chmod 0440 /etc/sudoers.d/90-cloud-init-users
install -d -m 0700 -o ec2-user -g ec2-user /home/ec2-user/.ssh
if [ -n "$AUTHORIZED_KEY" ]; then
  printf '%s\\n' "$AUTHORIZED_KEY" > /home/ec2-user/.ssh/authorized_keys
  chown ec2-user:ec2-user /home/ec2-user/.ssh/authorized_keys
  chmod 0600 /home/ec2-user/.ssh/authorized_keys
fi
# AL2023's host keys: ed25519 and ECDSA, no RSA (its cloud-init's ssh_genkeytypes; AWS's AL2023 guide, "Default
# SSH server configuration"). ssh-keygen -A would add an RSA key: most of a host's boot CPU.
for type in ed25519 ecdsa; do
  ssh-keygen -q -t "$type" -N '' -f "/etc/ssh/ssh_host_${type}_key" >/dev/null
done
"""
_HOSTS: dict[str, "InstanceHost"] = {}
_LOCK = threading.Lock()


class InstanceHost:
    def __init__(self, instance: Instance, public_key: str | None, public_ip: bool):
        self.instance = instance
        self.public_key = public_key
        self.public_ip = public_ip
        self.address = addresses.allocate()
        self.interface = _interface(instance, public_ip)
        self.sandbox = Sandbox(host_root() / instance.id, hostname=f"ip-{instance.private_ip.replace('.', '-')}",
                               own_network=self.interface is not None)
        self.metadata = InstanceMetadata(instance, lambda: _role_arn(instance))
        self.software: list[tuple[str, str]] = []
        self.docker: DockerEngine | None = None
        self.prepared = False
        self.booted = threading.Event()
        self.boot_output = ""

    def start(self) -> None:
        if not self.prepared:
            self.sandbox.prepare()
            settings = self.sandbox.root / "etc/ssh/sshd_config.d"
            settings.mkdir(exist_ok=True)
            (settings / "00-instance.conf").write_text(f"ListenAddress {self.address}\n{SSHD_SETTINGS}")
            # AWS's endpoints present certificates the AMI's trust store accepts: the local AWS's CA is in it.
            with open(self.sandbox.root / "etc/ssl/certs/ca-certificates.crt", "a") as trust:
                trust.write("\n" + certificates.bundle().read_text())
            with open(self.sandbox.root / "etc/hosts", "a") as hosts:  # the VPC's DNS resolves its own name
                hosts.write(f"{self.address}\t{self.sandbox.hostname}\n")
            software = self.sandbox.root.with_suffix(".software")
            self.docker = DockerEngine(f"instance {self.instance.id}", software / "docker.sock", software / "docker",
                                       lambda: self.sandbox.namespace_pid if self.sandbox.running else None,
                                       self._why_no_registry, ecr_login_tokens.caller_of)
            self.software = instance_software.prepare(software, self.docker.socket_path)
            done = self.sandbox.run(["/bin/sh", "-c", SETUP], {"AUTHORIZED_KEY": self.public_key or ""})
            if done.returncode != 0:
                raise RuntimeError(f"instance {self.instance.id}: host set-up failed: {done.stdout.decode()[-500:]}")
            self.prepared = True
        if not self.sandbox.running:
            log = open(self.sandbox.root.with_suffix(".log"), "ab")  # noqa: SIM115 - the sandbox's stdout
            self.sandbox.start(["/bin/sh", "-c", "install -d -m 0755 /run/sshd && exec /usr/sbin/sshd -D -e"],
                               {}, log, extra_binds=self.software)
            log.close()
            if self.interface is None:  # EC2-Classic (no subnet): not in the network model
                host_network.wait_serving(self.address, 22)
                return
            assert self.sandbox.namespace_pid is not None  # started with a network of its own
            host = host_network.attach(f"instance {self.instance.id}", self.instance.ec2_backend.account_id,
                                       self.instance.ec2_backend.region_name, self.interface, self.address, (22,),
                                       self.sandbox.namespace_pid, self.sandbox.root / "etc")
            self._serve_metadata(host)
            host_network.wait_serving(host, 22)
            if not self.booted.is_set():
                threading.Thread(target=self._first_boot, name=f"boot-{self.instance.id}", daemon=True).start()

    def _serve_metadata(self, host: host_network.Host) -> None:
        """169.254.169.254:80 inside the instance: its metadata service."""
        pid = str(self.sandbox.namespace_pid)
        subprocess.run([require_tool(["nsenter"], "util-linux"), "--target", pid, "--net", "--",
                        require_tool(["ip"], "iproute2"), "address", "add", f"{instance_metadata.ADDRESS}/32",
                        "dev", "lo"], check=True, capture_output=True)
        host.wiring.forward(instance_metadata.ADDRESS, 80, self.metadata.address, kind="instance metadata")

    def _why_no_registry(self) -> str | None:
        if self.interface is None:
            return None
        return reachability.host_reaches_service(self.instance.ec2_backend, self.interface, "ecr")

    def _first_boot(self) -> None:
        try:
            pid = self.sandbox.namespace_pid
            if pid is not None:
                self.boot_output = instance_boot.first_boot(pid, self.instance.user_data)
        finally:
            self.booted.set()

    def host_keys(self) -> list[str]:
        keys = sorted((self.sandbox.root / "etc/ssh").glob("ssh_host_*_key.pub"))
        return [" ".join(key.read_text().split()[:2]) for key in keys]

    def stop(self) -> None:
        host_network.detach(f"instance {self.instance.id}")
        self.sandbox.stop()

    def remove(self) -> None:
        host_network.detach(f"instance {self.instance.id}")
        self.metadata.close()
        if self.docker is not None:
            self.docker.close()
        self.sandbox.remove()
        remove_later(self.sandbox.root.with_suffix(".software"))


def instance_profile(instance: Instance) -> Any | None:
    """The instance's IAM instance profile now (an association can change while it runs), or None."""
    association = instance.ec2_backend.iam_instance_profile_associations.get(instance.id)
    return getattr(association, "iam_instance_profile", None)


def _role_arn(instance: Instance) -> str | None:
    roles = getattr(instance_profile(instance), "roles", None) or []
    return roles[0].arn if roles else None


def _interface(instance: Instance, public_ip: bool) -> Interface | None:
    if not instance.subnet_id:
        return None
    groups = [group.id for group in instance.security_groups]
    if not groups:  # AWS: launched without a security group, it has its VPC's default group (moto: none)
        ec2 = instance.ec2_backend
        default = ec2.get_default_security_group(ec2.get_subnet(instance.subnet_id).vpc_id)
        groups = [default.id] if default else []
    return Interface(instance.subnet_id, tuple(groups), public_ip, f"{instance.private_ip}/32")


def _public_key(instance: Instance) -> str | None:
    if not instance.key_name:
        return None
    key_pair = instance.ec2_backend.key_pairs.get(instance.key_name)
    if key_pair is None or not getattr(key_pair, "material_public", None):
        return None
    material = key_pair.material_public
    return material.decode() if isinstance(material, bytes) else material


def host_of(instance_id: str) -> InstanceHost | None:
    with _LOCK:
        return _HOSTS.get(instance_id)


_original_run = InstanceBackend.run_instances
_original_stop = InstanceBackend.stop_instances
_original_start = InstanceBackend.start_instances
_original_terminate = InstanceBackend.terminate_instances


_CFN_INSTANCE = threading.local()  # what CloudFormation says of the instance it is creating (groups, public IP)
_NOT_FROM_CLOUDFORMATION = object()


def _gets_public_ip(instance: Instance) -> bool:
    from_cfn = getattr(_CFN_INSTANCE, "public_ip", _NOT_FROM_CLOUDFORMATION)
    if from_cfn is _NOT_FROM_CLOUDFORMATION:  # RunInstances: moto decides as AWS does
        return instance.nics[0].public_ip is not None
    if from_cfn is not None:
        return str(from_cfn).lower() == "true"
    return (bool(instance.subnet_id)
            and instance.ec2_backend.get_subnet(instance.subnet_id).map_public_ip_on_launch is True)


def run_instances(self: InstanceBackend, *args: Any, **kwargs: Any) -> Any:
    group_ids = getattr(_CFN_INSTANCE, "group_ids", None)
    if group_ids and not kwargs.get("security_group_ids"):
        kwargs["security_group_ids"] = list(group_ids)
    reservation = _original_run(self, *args, **kwargs)
    for instance in reservation.instances:
        public_ip = _gets_public_ip(instance)
        host = InstanceHost(instance, _public_key(instance), public_ip)
        host.start()
        # Where clients reach its sshd; with no public IP the instance has only its private one.
        instance.nics[0].public_ip = host.address if public_ip else None
        with _LOCK:
            _HOSTS[instance.id] = host
    return reservation


def _on_hosts(instance_ids: list[str], action: Callable[[InstanceHost], None]) -> None:
    for instance_id in instance_ids:
        if (host := host_of(instance_id)) is not None:
            action(host)


def stop_instances(self: InstanceBackend, instance_ids: list[str]) -> Any:
    result = _original_stop(self, instance_ids)
    _on_hosts(instance_ids, InstanceHost.stop)
    return result


def start_instances(self: InstanceBackend, instance_ids: list[str]) -> Any:
    result = _original_start(self, instance_ids)
    _on_hosts(instance_ids, InstanceHost.start)
    return result


def terminate_instances(self: InstanceBackend, instance_ids: list[str]) -> Any:
    result = _original_terminate(self, instance_ids)
    for instance_id in instance_ids:
        with _LOCK:
            host = _HOSTS.pop(instance_id, None)
        if host is not None:
            host.remove()
    return result


CONSOLE = """{boot}Cloud-init v. 22.2.2 running 'modules:final'
#############################################################
-----BEGIN SSH HOST KEY FINGERPRINTS-----
-----END SSH HOST KEY FINGERPRINTS-----
#############################################################
-----BEGIN SSH HOST KEY KEYS-----
{keys}
-----END SSH HOST KEY KEYS-----
Cloud-init v. 22.2.2 finished
"""


def get_console_output(self: General) -> ActionResult:
    instance_id = self._get_param("InstanceId")
    instance = self.ec2_backend.get_instance(instance_id)
    host = host_of(instance.id)
    if host is None:
        return _original_console(self)
    output = CONSOLE.format(boot=host.boot_output, keys="\n".join(host.host_keys()))
    return ActionResult({"InstanceId": instance.id, "Timestamp": utcnow(),
                         "Output": Base64EncodedString.from_raw_string(output)})


_original_console = General.get_console_output


_original_instance_from_cfn = Instance.create_from_cloudformation_json.__func__


def instance_from_cloudformation(cls: type, resource_name: str, cloudformation_json: Any, account_id: str,
                                 region_name: str, **kwargs: Any) -> Instance:
    properties = cloudformation_json.get("Properties", {})
    # EC2 takes user data base64-encoded only (a template without Fn::Base64 fails), as RunInstances does.
    parse_user_data(properties.get("UserData"))
    _CFN_INSTANCE.group_ids = properties.get("SecurityGroupIds") or []
    _CFN_INSTANCE.public_ip = next((nic["AssociatePublicIpAddress"] for nic in properties.get("NetworkInterfaces") or []
                                    if "AssociatePublicIpAddress" in nic), None)  # None: as its subnet says
    try:
        return _original_instance_from_cfn(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    finally:
        _CFN_INSTANCE.group_ids = None
        _CFN_INSTANCE.public_ip = _NOT_FROM_CLOUDFORMATION


def stop_all() -> None:
    with _LOCK:
        hosts = list(_HOSTS.values())
        _HOSTS.clear()
    for host in hosts:
        host.remove()


def install() -> None:
    InstanceBackend.run_instances = run_instances
    InstanceBackend.stop_instances = stop_instances
    InstanceBackend.start_instances = start_instances
    InstanceBackend.terminate_instances = terminate_instances
    General.get_console_output = get_console_output
    Instance.create_from_cloudformation_json = classmethod(instance_from_cloudformation)

