#!/bin/sh
# Makes bench/model/.venv for the aiortc baseline (aiortc, av, numpy from PyPI) and checks
# that PyAV's libx264 encoder is there. Idempotent: run again to upgrade.
#   bench/model/setup.sh [PYTHON]        (default python3)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
python=${1:-python3}
if [ ! -x "$here/.venv/bin/python" ]; then
  "$python" -m venv "$here/.venv"
fi
"$here/.venv/bin/python" -m pip install -q --upgrade pip
"$here/.venv/bin/python" -m pip install -q -r "$here/requirements.txt"
"$here/.venv/bin/python" -c "import av, aiortc; av.codec.Codec('libx264', 'w'); print('aiortc', aiortc.__version__, 'av', av.__version__, 'libx264 ok')"
