#!/usr/bin/env bash
# Builds a harness of the shim outside SwiftPM, from the shim's sources:
#   render_check (the renderer, default) or, with --tls, tls_check (the SCP's DICOM TLS).
# Usage: Scripts/shim-tests/build.sh [--tls] [--sanitize] [--release] [OUT_DIR]
#   --sanitize  -fsanitize=address,undefined (LeakSanitizer included)
#   --release   -O2 (for the speed measurement; the default is -O1 -g)
# Output: OUT_DIR/render_check or OUT_DIR/tls_check (default OUT_DIR: .build/shim-tests).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
shim="$repo/CModules/CDcmtkShim"
flags=(-O1 -g)
suffix=""
out=""
harness=render_check
for arg in "$@"; do
    case "$arg" in
        --tls) harness=tls_check ;;
        --sanitize) flags+=(-fsanitize=address,undefined -fno-omit-frame-pointer); suffix="-asan" ;;
        --release) flags=(-O2 -g -DNDEBUG); suffix="-release" ;;
        *) out="$arg" ;;
    esac
done
out="${out:-$repo/.build/shim-tests}"
mkdir -p "$out"
if [ "$harness" = tls_check ]; then
    sources=("$shim"/*.cpp)
    libs=(-ldcmnet -ldcmtls -ldcmimage -ldcmimgle -ldcmjpeg -ldcmjpls -ldcmdata -loflog -lofstd
          -lopenjp2 -lpng16 -ljpeg -lz -lssl -lcrypto -lpthread)
else
    sources=("$shim/cdcm.cpp" "$shim/cdcm_charset_jp.cpp" "$shim/cdcm_render.cpp")
    libs=(-ldcmimage -ldcmimgle -ldcmjpeg -ldcmjpls -ldcmdata -loflog -lofstd -lopenjp2 -lpng16 -lz -lpthread)
fi
set -x
g++ -std=c++17 "${flags[@]}" -Wall -Wextra -Wno-unused-parameter \
    -I "$shim/include" -I "$shim" \
    "${sources[@]}" "$here/$harness.cpp" \
    -o "$out/$harness$suffix" "${libs[@]}"
