#!/usr/bin/env bash
# Builds Scripts/shim-tests/tls_check (the SCP's TLS harness) outside SwiftPM, from the shim's sources.
# Usage: Scripts/shim-tests/build-tls.sh [--sanitize] [OUT_DIR]
#   --sanitize  -fsanitize=address,undefined (LeakSanitizer included)
# Output: OUT_DIR/tls_check (default: .build/shim-tests). Run the checks with run-tls-checks.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
shim="$repo/CModules/CDcmtkShim"
flags=(-O1 -g)
suffix=""
out=""
for arg in "$@"; do
    case "$arg" in
        --sanitize) flags+=(-fsanitize=address,undefined -fno-omit-frame-pointer); suffix="-asan" ;;
        *) out="$arg" ;;
    esac
done
out="${out:-$repo/.build/shim-tests}"
mkdir -p "$out"
set -x
g++ -std=c++17 "${flags[@]}" -Wall -Wextra -Wno-unused-parameter \
    -I "$shim/include" -I "$shim" \
    "$shim"/*.cpp "$here/tls_check.cpp" \
    -o "$out/tls_check$suffix" \
    -ldcmnet -ldcmtls -ldcmimage -ldcmimgle -ldcmjpeg -ldcmjpls -ldcmdata -loflog -lofstd \
    -lopenjp2 -lpng16 -ljpeg -lz -lssl -lcrypto -lpthread
