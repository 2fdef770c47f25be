#!/bin/sh
# Runs inside the container on a Lilypad resource provider.
# $1 is the Message input. Whatever is written to /outputs comes back to the job creator in
# outputs/, and stdout/stderr come back as the files stdout and stderr.
set -eu

message="${1:-Hello from __MODULE_NAME__!}"
words=$(printf '%s\n' "$message" | wc -w | tr -d ' ')

mkdir -p /outputs
printf '%s\n' "$message" > /outputs/result.txt

echo "Message: $message"
echo "Words: $words"
echo "Wrote /outputs/result.txt"
