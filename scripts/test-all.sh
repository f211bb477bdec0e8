#!/bin/bash
# make test: C unit tests for the core, then the Test::Nginx suite.
# Prints one summary and exits non-zero on any failure.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

unit_rc=0 nginx_rc=0
unit_out=$(make -s test-unit 2>&1) || unit_rc=$?
echo "$unit_out" | grep -vE '^(cc|ar) ' 
unit_line=$(echo "$unit_out" | grep -E '^unit: ' | tail -1)

# the CLI: a new domain skeleton must load, and a broken file must not
cli_rc=0
cli_dir=$(mktemp -d)
{
    build/cwai domain new --name education --description "Escola de idiomas" \
        --out "$cli_dir/education.yaml" >/dev/null \
    && build/cwai domain check "$cli_dir/education.yaml" \
    && ! build/cwai domain check t/fixtures/domains-broken/unknown-key.yaml 2>/dev/null \
    && build/cwai domain check domains/cosmetics.yaml domains/tenants/example-override.yaml
} > "$cli_dir/out" 2>&1 || cli_rc=$?
sed 's/^/cli: /' "$cli_dir/out"
rm -rf "$cli_dir"

suite_out=$(./t/run-suite.sh "$@" 2>&1) || nginx_rc=$?
echo "$suite_out"
suite_line=$(echo "$suite_out" | grep -E '^(Result|Files=)' | tr '\n' ' ')

echo
echo "== summary =="
echo "${unit_line:-unit: did not run (exit $unit_rc)}"
echo "cli: $([ $cli_rc -eq 0 ] && echo ok || echo "FAILED (exit $cli_rc)")"
echo "nginx: ${suite_line:-did not run} (exit $nginx_rc)"
if [ $unit_rc -ne 0 ] || [ $nginx_rc -ne 0 ] || [ $cli_rc -ne 0 ]; then
    echo "FAILED"
    exit 1
fi
echo "ALL TESTS PASSED"
