#!/bin/sh
# The result and manifest schemas (results/schema/) against every real result
# in the tree, and against real results broken on purpose (tests/schema-check.py).
# TAP; skips (exit 77) when python3 or python3-jsonschema is missing.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=${srcdir:+$(cd "$srcdir" && pwd)}
top=${top:-$here/..}
python=${PYTHON3:-python3}
if ! command -v "$python" >/dev/null 2>&1; then
	echo "1..0 # SKIP $python not found (install python3 python3-jsonschema: sudo bash .ci/setup)"
	exit 77
fi
exec "$python" -W ignore::DeprecationWarning "$top/tests/schema-check.py" "$top"
