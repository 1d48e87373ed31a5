#!/bin/bash
# The container's command: hand the task's TASKDEF_* variables to login shells, set the
# login password from the task's secret, start sshd in the foreground.
set -euo pipefail

profile=/etc/profile.d/ecs.sh

# POSIX single-quoting: the value's own single quotes become '\''; nothing else is special
# inside single quotes, so backticks, $, ", \, spaces and newlines survive intact.
quote() {
  local escaped=${1//\'/\'\\\'\'}
  printf "'%s'" "${escaped}"
}

umask 022
tmp="$(mktemp "${profile}.XXXXXX")"
while IFS= read -r name; do
  [[ "${name}" =~ ^TASKDEF_[A-Za-z0-9_]+$ ]] || continue
  printf 'export %s=%s\n' "${name}" "$(quote "${!name}")" >> "${tmp}"
done < <(compgen -e)
chmod 0644 "${tmp}"
mv -f "${tmp}" "${profile}"

if [ -n "${EC2_USER_PASSWORD:-}" ]; then
  printf 'ec2-user:%s\n' "${EC2_USER_PASSWORD}" | chpasswd
  passwd -u ec2-user >/dev/null
else
  echo "startprocesses: EC2_USER_PASSWORD is not set: ec2-user has no password login" >&2
fi
unset EC2_USER_PASSWORD

# Host keys are made per task (those missing, as ssh-keygen -A makes them), and published in the task's log so
# clients can check them. ECDSA and Ed25519 only (image-setup.sh's HostKey lines): an RSA key took most of a task's
# start-up CPU, and every SSH client of the workshop's (OpenSSH on the bastion) takes these.
for type in ecdsa ed25519; do
  key="/etc/ssh/ssh_host_${type}_key"
  [ -e "${key}" ] || ssh-keygen -q -t "${type}" -N '' -f "${key}" >/dev/null
done
echo "-----BEGIN SSH HOST KEY KEYS-----"
cat /etc/ssh/ssh_host_*_key.pub
echo "-----END SSH HOST KEY KEYS-----"

install -d -m 0755 /run/sshd
exec /usr/sbin/sshd -D -e
