#!/bin/bash
# Build-time set-up of the image: the login user and the SSH server's settings.
# Runs once, in the image build (docker build, or the local AWS's offline build).
set -euo pipefail

id ec2-user >/dev/null 2>&1 || useradd --create-home --shell /bin/bash ec2-user
passwd -l ec2-user >/dev/null  # locked until startprocesses.sh sets the task's password

install -d -m 0755 /etc/ssh/sshd_config.d
cat > /etc/ssh/sshd_config.d/50-smdemo.conf <<'CONF'
# Password login for ec2-user only (the workshop's step: ssh from the bastion).
PasswordAuthentication yes
KbdInteractiveAuthentication no
PermitRootLogin no
AllowUsers ec2-user
UsePAM no
PrintMotd no
# The host keys startprocesses.sh makes when the task starts (none is baked into the image).
HostKey /etc/ssh/ssh_host_ecdsa_key
HostKey /etc/ssh/ssh_host_ed25519_key
CONF
chmod 0644 /etc/ssh/sshd_config.d/50-smdemo.conf
