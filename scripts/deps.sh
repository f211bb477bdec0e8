#!/bin/sh
# Installs every Debian package the project needs to build, run and test.
# Idempotent: apt-get only installs what is missing. Root or sudo.
set -e
PKGS="nginx nginx-dev build-essential pkg-config dpkg-dev
libjansson-dev libyaml-dev libhiredis-dev libssl-dev libpcre2-dev zlib1g-dev
check perl libtest-base-perl libtext-diff-perl liblist-moreutils-perl
libipc-run-perl libtest-longstring-perl liburi-perl libwww-perl libhttp-daemon-perl libjson-pp-perl
redis-server curl ca-certificates chromium chromium-driver wrk"
[ -n "$CWAI_EXTRA_PKGS" ] && PKGS="$PKGS $CWAI_EXTRA_PKGS"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing="$missing $p"
done
[ -z "$missing" ] && { echo "deps: all packages present"; exit 0; }

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# policy-rc.d keeps the distribution's nginx/redis services from starting:
# the project runs its own instances on its own ports.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends $missing
