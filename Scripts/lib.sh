# Shared by Scripts/run, Scripts/test and Scripts/bench: install what is missing, then build.
# Source it; it does nothing by itself.

DEBIAN_PACKAGES=(libdcmtk-dev dcmtk libsqlite3-dev libpng-dev libopenjp2-7-dev libjpeg-dev sqlite3)
# pip name[:module name]; pylibjpeg-openjpeg makes the JPEG 2000 test images (Scripts/shim-tests),
# dicomweb-client is the DICOMweb peer of the tests.
PYTHON_PACKAGES=(pydicom pynetdicom numpy pylibjpeg-openjpeg:openjpeg dicomweb-client:dicomweb_client)

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_system_packages() {
    local missing=()
    for p in "${DEBIAN_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing Debian packages: ${missing[*]}"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

install_python_packages() {
    local missing=()
    for p in "${PYTHON_PACKAGES[@]}"; do
        python3 -c "import ${p#*:}" 2>/dev/null || missing+=("${p%%:*}")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing Python packages: ${missing[*]}"
        python3 -m pip install -q "${missing[@]}" 2>&1 | grep -v "Running pip as the 'root' user" || true
    fi
}

check_swift() {
    if ! command -v swift >/dev/null; then
        echo "Swift 6 is needed (https://www.swift.org/install/linux/): swift is not on PATH" >&2
        exit 1
    fi
}

# TCP_NODELAY=1: DCMTK 3.6.7 leaves Nagle's algorithm on otherwise (~40 ms stalls per DIMSE message).
export TCP_NODELAY=1
