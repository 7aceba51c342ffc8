#!/usr/bin/env bash
# Fails when gen/ is not what `buf generate` makes of proto/ (and lints the protos).
set -euo pipefail
cd "$(dirname "$0")/.."
npx --no-install buf lint
npx --no-install buf generate
if [ -n "$(git status --porcelain -- gen)" ]; then
  echo "gen/ is out of date with proto/: it was regenerated now; review and commit it:" >&2
  git status --short -- gen >&2
  exit 1
fi
