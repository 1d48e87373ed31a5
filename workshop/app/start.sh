#!/bin/bash
# Start the lab's web app in the background: start.sh VARIANT PORT SECRET_ID
# (hardcoded writes the secret's current credentials down first, once, as the lab's first app has them).
set -euo pipefail

variant="${1:?usage: start.sh hardcoded|get-secret|cached PORT SECRET_ID}"
port="${2:?usage: start.sh VARIANT PORT SECRET_ID}"
secret_id="${3:?usage: start.sh VARIANT PORT SECRET_ID}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
region="$(cut -d: -f4 <<<"${secret_id}")"

arguments=(--variant "${variant}" --port "${port}")
if [ "${variant}" = hardcoded ]; then
  umask 077
  aws secretsmanager get-secret-value --region "${region}" --secret-id "${secret_id}" \
    --query SecretString --output text > "${here}/hardcoded-credentials.json"
  arguments+=(--credentials "${here}/hardcoded-credentials.json")
else
  arguments+=(--secret-id "${secret_id}")
fi

PYTHONPATH="${here}/lib:${here}" nohup python3.11 "${here}/web_app.py" "${arguments[@]}" \
  > "${here}/${variant}.log" 2>&1 < /dev/null &
echo "${variant}: pid $! on 127.0.0.1:${port}"
