#!/usr/bin/env bash
# Builds Scripts/shim-tests/render_check (the renderer's C++ harness) outside SwiftPM, from the shim's
# sources. Usage: Scripts/shim-tests/build.sh [--sanitize] [--release] [OUT_DIR]
#   --sanitize  -fsanitize=address,undefined (LeakSanitizer included)
#   --release   -O2 (for the speed measurement; the default is -O1 -g)
# Output: OUT_DIR/render_check (default: .build/shim-tests).
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
        --release) flags=(-O2 -g -DNDEBUG); suffix="-release" ;;
        *) out="$arg" ;;
    esac
done
out="${out:-$repo/.build/shim-tests}"
mkdir -p "$out"
set -x
g++ -std=c++17 "${flags[@]}" -Wall -Wextra -Wno-unused-parameter \
    -I "$shim/include" -I "$shim" \
    "$shim/cdcm.cpp" "$shim/cdcm_charset_jp.cpp" "$shim/cdcm_render.cpp" "$here/render_check.cpp" \
    -o "$out/render_check$suffix" \
    -ldcmimage -ldcmimgle -ldcmjpeg -ldcmjpls -ldcmdata -loflog -lofstd -lopenjp2 -lpng16 -lz -lpthread
