#!/bin/sh
# Host contract v1, for custom commands that were granted env vars: read NAME=BASE64 lines from
# stdin up to an empty line, export them, then exec the command with the rest of stdin (the
# params). Env values travel this way, not as `--env`, because engines keep --env values in
# their container databases on the host's disk. `read` takes one byte at a time from a pipe,
# so nothing of the params is consumed here. Trailing newlines of a value are not kept.
set -eu
while IFS= read -r line; do
    [ -z "$line" ] && break
    name=${line%%=*}
    value=$(printf '%s' "${line#*=}" | base64 -d)
    export "$name=$value"
done
exec "$@"
