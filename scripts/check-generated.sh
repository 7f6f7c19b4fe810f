#!/usr/bin/env bash
# Regenerates the gqlgen code and fails when the committed code differs, so
# a schema change cannot land without its generated code. gqlgen runs as
# `go tool gqlgen` (pinned by the tool directive in go.mod), offline from
# the module cache once it has been downloaded.
set -euo pipefail

cd "$(dirname "$0")/.."

go tool gqlgen generate

paths=(internal/gqlexec internal/gqlmodel schema.graphqls)
if ! git diff --exit-code --stat -- "${paths[@]}"; then
  echo "generated code is stale: run 'go tool gqlgen generate' (make generate) and commit the result" >&2
  exit 1
fi
untracked=$(git ls-files --others --exclude-standard -- "${paths[@]}")
if [[ -n $untracked ]]; then
  echo "generated files are not committed:" >&2
  echo "$untracked" >&2
  exit 1
fi
echo "generated code is up to date"
