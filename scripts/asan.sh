#!/bin/bash
# make test-asan: the Test::Nginx suite on an nginx 1.22 built from Debian's
# source package with our module compiled in (static), under AddressSanitizer
# and UndefinedBehaviorSanitizer. Any sanitizer report fails the run.
#
#   build/asan-src/   apt-get source cache (downloaded once)
#   build/asan/       prefix: objs/ (incremental build), sbin/nginx, reports/
#
#   scripts/asan.sh [t/NNN-foo.t ...]    arguments go to t/run-suite.sh
#   NGINX_DEB_VERSION=1.22.1-9+deb12u9   source version wanted (falls back to
#                                        the newest downloadable 1.22.1)
#   CWAI_ASAN_BUILD_ONLY=1               build, do not run the suite
#   JOBS=N                               make -jN (default: nproc)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
want=${NGINX_DEB_VERSION:-1.22.1-9+deb12u9}
cache=$root/build/asan-src
out=$root/build/asan
objs=$out/objs
reports=$out/reports
jobs=${JOBS:-$(nproc)}
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"

say() { echo "asan: $*"; }
die() { echo "asan: $*" >&2; exit 1; }
now() { date +%s; }

# ---- 1. Debian's nginx source package, fetched once ----------------------
have_src() { apt-cache showsrc nginx 2>/dev/null | grep '^Package: nginx' >/dev/null; }

add_deb_src() {
    local f=/etc/apt/sources.list.d/cwai-src.sources
    if [ ! -e "$f" ]; then
        say "adding deb-src entries ($f)"
        if [ -f /etc/apt/sources.list.d/debian.sources ]; then
            sed 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources
        else
            printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n'
            printf 'Types: deb-src\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
        fi | $SUDO tee "$f" >/dev/null
    fi
    $SUDO apt-get update -qq
}

get_src() {   # $1 = version; the tree lands in $cache/tmp/nginx-1.22.1
    rm -rf "$cache/tmp"; mkdir -p "$cache/tmp"
    (cd "$cache/tmp" && apt-get source -qq "nginx=$1") >"$cache/apt-source.log" 2>&1
}

fetch_src() {
    local t0 ver=$want
    t0=$(now)
    have_src || add_deb_src
    have_src || die "apt has no source for nginx (deb-src missing?)"
    if ! get_src "$ver"; then
        $SUDO apt-get update -qq || true          # stale source lists?
        if ! get_src "$ver"; then
            # any other 1.22.1 source apt knows of, newest first
            ver=""
            for v in $(apt-cache showsrc nginx | sed -n 's/^Version: \(1\.22\.1-.*\)/\1/p' | sort -rV | uniq); do
                get_src "$v" && { ver=$v; break; }
            done
            [ -n "$ver" ] || { cat "$cache/apt-source.log"; die "no nginx 1.22.1 source is downloadable"; }
            say "nginx source $want is not downloadable; fell back to $ver"
        fi
    fi
    [ -x "$cache/tmp/nginx-1.22.1/configure" ] || die "unexpected apt-get source layout in $cache/tmp"
    rm -rf "$cache/nginx" "$cache"/nginx_*
    mv "$cache/tmp/nginx-1.22.1" "$cache/nginx"
    mv "$cache/tmp"/nginx_* "$cache"/ 2>/dev/null || true
    rm -rf "$cache/tmp"
    echo "$want" >"$cache/wanted"; echo "$ver" >"$cache/version"
    say "downloaded Debian's nginx $ver source in $(( $(now) - t0 ))s"
}

mkdir -p "$cache" "$out"
if [ ! -x "$cache/nginx/configure" ] || [ "$(cat "$cache/wanted" 2>/dev/null)" != "$want" ]; then
    fetch_src
fi
src=$cache/nginx
say "nginx source: Debian $(cat "$cache/version") ($src)"

# ---- 2. configure (only when flags, config or the module's file list change)
# -Wno-error: GCC's warnings are unreliable under -fsanitize (false positives
# such as "null format string" for vsnprintf(NULL, 0, ...)); the normal build
# keeps nginx's -Werror.
cc_opt="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -DNGX_DEBUG_PALLOC=1 -Wno-error"
# Static runtimes: with GCC's shared libasan + libubsan, UBSan's reports
# ignore log_path (its report file is never set up) and go to stderr.
ld_opt="-fsanitize=address,undefined -static-libasan -static-libubsan"
conf_args=(
    --prefix="$out" --builddir="$objs" --error-log-path=stderr
    --with-debug --with-threads --with-pcre-jit
    --with-http_ssl_module --with-http_realip_module
    --with-http_stub_status_module --with-http_auth_request_module
    --with-cc-opt="$cc_opt" --with-ld-opt="$ld_opt"
    --add-module="$root"
)
stamp=$( { printf '%s\n' "$src" "$(cat "$cache/version")" "${conf_args[@]}"; cat "$root/config";
           ls "$root"/src/*.c "$root"/src/*.h "$root"/ngx_chatwootai_module/*.[ch]; } | sha1sum)

if [ ! -f "$objs/Makefile" ] || [ "$(cat "$out/configure.stamp" 2>/dev/null)" != "$stamp" ]; then
    t0=$(now)
    # A re-configure rewrites objs/*.h; keep their mtimes when the content is
    # unchanged so that only what really changed is rebuilt.
    keep=$(mktemp -d); cp -p "$objs"/ngx_auto_*.h "$objs"/ngx_modules.c "$keep"/ 2>/dev/null || true
    rm -f "$out/configure.stamp"
    (cd "$src" && ./configure "${conf_args[@]}") >"$out/configure.log" 2>&1 \
        || { tail -30 "$out/configure.log"; rm -rf "$keep"; die "configure failed ($out/configure.log)"; }
    for f in "$keep"/*; do
        [ -e "$f" ] && cmp -s "$f" "$objs/${f##*/}" && touch -r "$f" "$objs/${f##*/}"
    done
    rm -rf "$keep"
    echo "$stamp" >"$out/configure.stamp"
    say "configured in $(( $(now) - t0 ))s"
fi

# ---- 3. build (incremental) ------------------------------------------------
t0=$(now)
make -C "$src" -f "$objs/Makefile" -j"$jobs" >"$out/make.log" 2>&1 \
    || { grep -E -A5 'error:|Error [0-9]' "$out/make.log" | head -40; die "build failed ($out/make.log)"; }
make -C "$src" -f "$objs/Makefile" install >>"$out/make.log" 2>&1 \
    || { tail -20 "$out/make.log"; die "install failed"; }
nginx=$out/sbin/nginx
say "built $nginx in $(( $(now) - t0 ))s"
"$nginx" -V 2>&1 | grep 'fsanitize=address' >/dev/null || die "$nginx is not an ASan build"

[ -n "${CWAI_ASAN_BUILD_ONLY:-}" ] && exit 0

# ---- 4. the Test::Nginx suite under the sanitizers -------------------------
[ -x "$root/t/run-suite.sh" ] || die "t/run-suite.sh missing"
rm -rf "$reports" "$root"/t/servroot*
mkdir -p "$reports"; chmod 1777 "$reports"   # workers may run as nobody

# UBSan hits inside nginx 1.22's own code, which it does by design. nginx's
# files are compiled as relative "src/..." paths and ours as absolute paths,
# so "^src/" never hides a report located in the module.
cat >"$out/ubsan.supp" <<'EOF'
# memcpy(dst, NULL, 0) through ngx_cpymem/ngx_pstrdup/ngx_sprintf (every start)
nonnull-attribute:^src/
# deliberate unaligned loads (NGX_HAVE_NONALIGNED: ngx_str3_cmp & co. in the
# request parser, hit by pipelined requests)
alignment:^src/
EOF

# Options are read at process start; nginx's workers fork from the master
# without exec, so they keep them even though nginx clears its environment.
# With log_path every report lands in $reports/san.<pid>, daemonized or not
# (ASan and UBSan share one report file; the common flags must be identical
# in both variables, the one parsed last wins). A daemon's stderr is its
# error_log, which is scanned too.
common="detect_leaks=0:log_path=$reports/san:abort_on_error=0:disable_coredump=1"
export ASAN_OPTIONS="$common:halt_on_error=1:print_summary=1:handle_abort=1"
export UBSAN_OPTIONS="$common:print_stacktrace=1:report_error_type=1:halt_on_error=0:suppressions=$out/ubsan.supp"
export TEST_NGINX_BINARY=$nginx TEST_NGINX_LOAD_MODULES=""

t0=$(now)
set +e
(cd "$root" && ./t/run-suite.sh "$@")
suite_rc=$?
set -e
say "suite finished in $(( $(now) - t0 ))s (exit $suite_rc)"

# ---- 5. verdict ------------------------------------------------------------
pat='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:'
mapfile -t files < <(find "$reports" -type f -size +0 | sort)
mapfile -t logs < <(grep -rlE "$pat" --include='error.log' "$root"/t/servroot* \
                     ${TEST_NGINX_SERVROOT:+"$TEST_NGINX_SERVROOT"} 2>/dev/null | sort -u)
n=0
for f in "${files[@]}"; do c=$(grep -cE "$pat" "$f" || true); n=$(( n + (c > 0 ? c : 1) )); done
for f in "${logs[@]}"; do n=$(( n + $(grep -cE "$pat" "$f") )); done
say "$n reports"
if [ "$n" -gt 0 ]; then
    first=${files[0]:-${logs[0]}}
    say "first report ($first):"
    if [ ${#files[@]} -gt 0 ]; then head -50 "$first"
    else grep -E -m1 -A40 "$pat" "$first"; fi
    for f in "${files[@]:1}" "${logs[@]}"; do say "also: $f"; done
    exit 1
fi
[ "$suite_rc" -eq 0 ] || die "Test::Nginx suite failed under ASan (exit $suite_rc)"
say "clean"
