#!/bin/bash
# Runs the Test::Nginx suite (t/*.t, sorted) with prove.
#
#   t/run-suite.sh                      every t/*.t
#   t/run-suite.sh t/010-foo.t ...      only these files
#   PROVE_ARGS="-v" t/run-suite.sh ...  extra prove options
#
# Uses CPAN's Test::Nginx when `perl -MTest::Nginx::Socket` works with the
# caller's PERL5LIB, else the compatible runner in t/compat.  Defaults (kept
# when already set, even to an empty value):
#   TEST_NGINX_BINARY=/usr/sbin/nginx
#   TEST_NGINX_LOAD_MODULES=$PWD/build/ngx_http_chatwootai_module.so
# The ASan build sets TEST_NGINX_BINARY to its static nginx and
# TEST_NGINX_LOAD_MODULES to an empty string.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1

export TEST_NGINX_BINARY="${TEST_NGINX_BINARY-/usr/sbin/nginx}"
export TEST_NGINX_LOAD_MODULES="${TEST_NGINX_LOAD_MODULES-$root/build/ngx_http_chatwootai_module.so}"

inc=(-I "$root/t/lib")
if perl -MTest::Nginx::Socket -e1 >/dev/null 2>&1; then
    runner="Test::Nginx (CPAN) $(perl -MTest::Nginx::Socket -e 'print $INC{"Test/Nginx/Socket.pm"}')"
else
    inc+=(-I "$root/t/compat")
    runner="Test::Nginx compat runner (t/compat)"
fi

if [ $# -gt 0 ]; then
    files=("$@")
else
    mapfile -t files < <(ls t/*.t 2>/dev/null | LC_ALL=C sort)
fi
if [ ${#files[@]} -eq 0 ]; then
    echo "run-suite: no t/*.t files" >&2
    exit 1
fi

if [ -n "$TEST_NGINX_BINARY" ] && ! command -v "$TEST_NGINX_BINARY" >/dev/null 2>&1; then
    echo "run-suite: nginx binary not found: $TEST_NGINX_BINARY" >&2
    exit 1
fi
for m in $TEST_NGINX_LOAD_MODULES; do
    [ -f "$m" ] || { echo "run-suite: module not found: $m (run make build)" >&2; exit 1; }
done

echo "run-suite: $runner"
echo "run-suite: TEST_NGINX_BINARY=$TEST_NGINX_BINARY"
echo "run-suite: TEST_NGINX_LOAD_MODULES=$TEST_NGINX_LOAD_MODULES"

# shellcheck disable=SC2086
prove ${PROVE_ARGS:-} "${inc[@]}" "${files[@]}"
