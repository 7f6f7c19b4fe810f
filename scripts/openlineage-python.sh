#!/usr/bin/env bash
# Installs openlineage-python from PyPI into a cached venv (idempotent).
# Usage: openlineage-python.sh VENV_DIR VERSION
set -euo pipefail
venv=${1:?venv dir}
version=${2:?version}
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import openlineage.client, importlib.metadata as m; assert m.version('openlineage-python') == '$version'" 2>/dev/null; then
  echo "openlineage-python $version: ready in $venv"
  exit 0
fi
echo "installing openlineage-python $version into $venv (pip cache: ~/.cache/pip)"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "openlineage-python==$version"
"$venv/bin/python" -c "import openlineage.client; print('openlineage-python ready')"
