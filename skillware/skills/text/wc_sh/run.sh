#!/bin/sh
# Host contract v1 in POSIX sh: params on stdin, result on stdout, JSON error + exit 1 on failure.
# Lines are counted as `wc -l` does (newline characters); words are runs of non-space characters.
set -u
if ! result=$(jq -c '
    if (.text | type) != "string" then error("text must be a string") else . end
    | .text as $t
    | {lines: ($t | [scan("\n")] | length),
       words: ($t | [scan("\\S+")] | length),
       characters: ($t | length)}' 2>/tmp/jq-error); then
    jq -cn --arg message "$(cat /tmp/jq-error)" '{error: {kind: "skill_error", type: "JqError", message: $message}}'
    exit 1
fi
printf '%s\n' "$result"
