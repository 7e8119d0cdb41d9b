#!/usr/bin/env bash
# Regenerates the Ginkgo JSON fixtures from fixturesuite; no root needed.
# Run from anywhere: suite/matrixreport/testdata/gen.sh.
#
# -trimpath and the sed keep the paths of the machine that made them out of
# the fixtures; gzip keeps a 1 MB report at a few tens of kB (zcat to read).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
cd "$root"
export GOFLAGS="${GOFLAGS:-} -trimpath"
# el7 runs on three processes, as the suite does with -p, so the fixture
# holds one suite-level report per process and the specs out of order.
for machine in el7 modern; do
	procs=1
	[ "$machine" = el7 ] && procs=3
	# The fixtures need failed specs, so the run fails by design: ignore its
	# exit status and check that the report was written instead.
	rm -f "$here/$machine.json" "$here/$machine.json.gz"
	NSREPORT_FIXTURE=$machine go tool ginkgo --tags=nsreport_fixture --no-color --succinct --procs="$procs" \
		--json-report="$machine.json" --output-dir="$here" \
		./suite/matrixreport/testdata/fixturesuite >/dev/null || true
	test -s "$here/$machine.json"
	sed -i "s|$root/|./|g; s|$root|.|g" "$here/$machine.json"
	gzip -9n "$here/$machine.json"
done
