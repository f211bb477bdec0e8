#!/bin/bash
# Configures an nginx source tree to build our dynamic module.
#   $1  nginx source tree (Debian's nginx-dev tree by default, or a full tree)
#   $2  where to copy it (configure writes objs/ into it)
#   $3  the module's directory
set -euo pipefail
src=$1 dst=$2 mod=$3

[ -x "$src/configure" ] || { echo "no nginx source at $src (make deps installs nginx-dev; or set NGINX_SRC=)" >&2; exit 1; }
rm -rf "$dst"; mkdir -p "$dst"
cp -a "$src"/. "$dst"/

flags=(--with-compat)
if [ -f "$src/conf_flags" ]; then
    # Debian's nginx-dev ships the exact flags its nginx binary was built with.
    # shellcheck disable=SC1091
    . "$src/conf_flags"
    flags=("${NGX_CONF_FLAGS[@]}")
fi
cd "$dst"
./configure "${flags[@]}" \
    --with-cc-opt="-g -O2 -fstack-protector-strong -Wformat -Werror=format-security -fPIC -D_FORTIFY_SOURCE=2" \
    --with-ld-opt="-Wl,-z,relro -Wl,-z,now -fPIC" \
    --add-dynamic-module="$mod" >"$dst/configure.log" 2>&1 \
    || { tail -30 "$dst/configure.log"; exit 1; }
echo "configured nginx in $dst"
