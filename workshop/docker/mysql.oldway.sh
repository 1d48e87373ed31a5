#!/bin/bash
# The old way: credentials written down once and never updated (~/oldway.cnf, made by hand
# in the workshop's first step). It stops working when the secret rotates.
set -euo pipefail

exec mysql --defaults-extra-file="${HOME}/oldway.cnf" "$@"
