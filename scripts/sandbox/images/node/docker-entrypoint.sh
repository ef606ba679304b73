#!/bin/sh
# The node image's entrypoint, as in the official image: arguments that are not a command
# (an option such as --version, or a script file) are given to node.
set -e

if [ "${1#-}" != "$1" ] || [ -z "$(command -v "$1")" ] || { [ -f "$1" ] && ! [ -x "$1" ]; }; then
  set -- node "$@"
fi

exec "$@"
