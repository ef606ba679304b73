#!/usr/bin/env bash
# Log helpers shared by the project's scripts. Progress goes to stdout, errors to stderr.
# Colour only on a terminal, and never when CI or NO_COLOR is set.

if [[ -t 1 && -z "${CI:-}" && -z "${NO_COLOR:-}" ]]; then
  _log_bold=$'\033[1m'; _log_red=$'\033[31m'; _log_yellow=$'\033[33m'; _log_reset=$'\033[0m'
else
  _log_bold=''; _log_red=''; _log_yellow=''; _log_reset=''
fi

_log_stamp() { date -u +%H:%M:%S; }

log::info() { printf '%s %s\n' "$(_log_stamp)" "$*"; }
log::step() { printf '%s %s==> %s%s\n' "$(_log_stamp)" "$_log_bold" "$*" "$_log_reset"; }
log::warn() { printf '%s %swarning:%s %s\n' "$(_log_stamp)" "$_log_yellow" "$_log_reset" "$*" >&2; }
log::error() { printf '%s %serror:%s %s\n' "$(_log_stamp)" "$_log_red" "$_log_reset" "$*" >&2; }

# log::die MESSAGE [EXIT_CODE]: one clear line, then exit.
log::die() {
  log::error "$1"
  exit "${2:-1}"
}

# log::run CMD...: echo a command that changes something, then run it.
log::run() {
  printf '%s + %s\n' "$(_log_stamp)" "$*"
  "$@"
}
