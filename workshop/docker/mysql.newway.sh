#!/bin/bash
# The new way: the credentials come from Secrets Manager every time. In a task, ECS puts the
# secret into TASKDEF_SECRET; elsewhere pass the secret's name: ./mysql.newway.sh smdemo
set -euo pipefail

secret="${TASKDEF_SECRET:-}"
if [ -z "${secret}" ]; then
  name="${1:?usage: mysql.newway.sh SECRET_NAME (in the task, TASKDEF_SECRET is used)}"
  shift
  secret="$(aws secretsmanager get-secret-value --secret-id "${name}" --query SecretString --output text)"
fi

field() {
  jq -er --arg key "$1" '.[$key] // empty | tostring' <<<"${secret}" \
    || { echo "mysql.newway.sh: the secret has no '$1' field" >&2; exit 2; }
}
host="$(field host)"
port="$(field port)"
user="$(field username)"

# The password goes through the environment, never the command line (ps would show it).
MYSQL_PWD="$(field password)" exec mysql --host="${host}" --port="${port}" --user="${user}" "$@"
