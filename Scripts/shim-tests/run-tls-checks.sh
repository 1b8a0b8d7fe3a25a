#!/usr/bin/env bash
# Checks the SCP's DICOM TLS (cdcm_net.h) with DCMTK's own echoscu/storescu against tls_check.
# Usage: [KEEP=1] Scripts/shim-tests/run-tls-checks.sh [TLS_CHECK_BINARY]   (KEEP=1 keeps the temp folder)
#   default binary: .build/shim-tests/tls_check (build it with build.sh --tls; an -asan build works too).
# Makes a throw-away CA, a server and a client certificate signed by it, and a self-signed "rogue"
# client certificate with /usr/bin/openssl in a temporary folder, then checks:
#   mutual TLS (echoscu, storescu), the callback's subject and SHA-256 fingerprint, a rogue
#   certificate, a plain-TCP client, an anonymous TLS client (with and without a required client
#   certificate), a silent peer (bounded by the ACSE timeout), a pinned peer certificate, TLS 1.0/1.1
#   refused; after each failure a good client must still be served.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bin="${1:-$repo/.build/shim-tests/tls_check}"
[ -x "$bin" ] || { echo "no harness at $bin (run build.sh --tls)"; exit 2; }
export TCP_NODELAY=1
dir="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
    if [ -n "${KEEP:-}" ]; then echo "kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT
cd "$dir"
mkdir scptmp
failures=0
check() { # name, expected rc, actual rc
    if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1 (exit $3, expected $2)"; failures=$((failures + 1)); fi
}

# ---- Certificates (RSA 2048, SHA-256; the BCP 195 profile's TLS 1.2 suites need an RSA server key)
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 30 -keyout ca.key -out ca.pem \
    -subj "/C=VN/O=ImagingIndex Test/CN=Test CA" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
    -subj "/C=VN/O=ImagingIndex Test/CN=localhost" 2>/dev/null
printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n' > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -sha256 \
    -extfile server.ext -out server.pem 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr \
    -subj "/C=VN/O=Bach Mai Hospital/CN=BACHMAI_PACS" 2>/dev/null
printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' > client.ext
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -sha256 \
    -extfile client.ext -out client.pem 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 30 -keyout rogue.key -out rogue.pem \
    -subj "/C=VN/O=Rogue/CN=ROGUE" 2>/dev/null
fingerprint="$(openssl x509 -noout -fingerprint -sha256 -in client.pem | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')"
subject="$(openssl x509 -noout -subject -nameopt oneline -in client.pem | sed 's/^subject=//')"

start() { # log, args... (sets $port; not in a subshell, so that $pids keeps the server)
    local log="$1"; shift
    "$bin" serve --tmp "$dir/scptmp" --acse-timeout 5 --seconds 120 "$@" > "$log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 50); do grep -q '^port=' "$log" && break; sleep 0.1; done
    port="$(sed -n 's/^port=//p' "$log")"
}
echo_tls() { /usr/bin/echoscu "$@" -aec IMAGINGINDEX 127.0.0.1 "$port" >/dev/null 2>&1; echo $?; }
good() { echo_tls +tls client.key client.pem +cf ca.pem -aet GOOD; }

# ---- create failures
created() { "$bin" create "$@" 2>&1 || true; }
created --cert missing.pem --key server.key | grep -q 'status=-2'; check "missing certificate file: CDCM_ERR_IO" 0 $?
created --cert server.pem --key client.key | grep -q 'status=-1 .*does not match'; check "key of another certificate: CDCM_ERR_ARGUMENT" 0 $?
created --cert server.pem --key server.key --require 1 | grep -q 'status=-1 '; check "required client certificate without trusted file" 0 $?
created --cert server.pem --key server.key --trusted ca.pem --require 1 | grep -q '^ok$'; check "good settings" 0 $?

# ---- require = 1
start srv1.log --cert server.pem --key server.key --trusted ca.pem --require 1
check "echoscu +tls with client certificate" 0 "$(good)"
sleep 0.2
grep -q "calling=GOOD .*tls=1 subject=$subject sha256=$fingerprint" srv1.log; check "callback: subject and SHA-256 fingerprint" 0 $?
file="$repo/TestImages/bachmai/ct-head-1.dcm" # uncompressed: DCMTK's storescu proposes uncompressed syntaxes
/usr/bin/storescu +tls client.key client.pem +cf ca.pem -aec IMAGINGINDEX -aet STORE 127.0.0.1 "$port" "$file" >/dev/null 2>&1
check "storescu +tls" 0 $?
check "rogue certificate refused" 1 "$(echo_tls +tls rogue.key rogue.pem +cf ca.pem -aet ROGUE)"
check "  then a good client" 0 "$(good)"
check "plain TCP client refused" 1 "$(echo_tls -aet PLAIN)"
check "  then a good client" 0 "$(good)"
check "anonymous TLS refused (require=1)" 1 "$(echo_tls +tla +cf ca.pem -aet ANON)"
check "  then a good client" 0 "$(good)"
check "echoscu -ic (server certificate not checked)" 0 "$(echo_tls +tls client.key client.pem -ic -aet IC)"
check "echoscu without +cf/-ic (server certificate unknown)" 1 "$(echo_tls +tls client.key client.pem -aet NOCF)"
for v in tls1 tls1_1; do
    echo | timeout 5 openssl s_client -connect "127.0.0.1:$port" -"$v" -cert client.pem -key client.key -CAfile ca.pem >/dev/null 2>&1
    check "$v refused" 1 $?
done
echo | timeout 5 openssl s_client -connect "127.0.0.1:$port" -tls1_2 -cert client.pem -key client.key -CAfile ca.pem >/dev/null 2>&1
check "tls1_2 handshake" 0 $?
# A silent peer holds the accept loop for at most the ACSE timeout (5 s here).
exec 7<>"/dev/tcp/127.0.0.1/$port"
begin=$SECONDS
check "good client behind a silent peer" 0 "$(good)"
waited=$((SECONDS - begin))
[ "$waited" -le 7 ]; check "  served within the ACSE timeout (${waited} s)" 0 $?
exec 7>&-
# (Associations with empty AE titles come from the s_client probes, which close without an
# A-ASSOCIATE-RQ: DCMTK reports those as associations that then abort, with or without TLS.)
aborted="$(awk '/^association / { split($2, a, "="); if ($3 != "calling=") real[a[2]] = 1 }
                /^end / { split($2, a, "="); if (real[a[2]] && $3 == "aborted=1") n++ } END { print n + 0 }' srv1.log)"
check "every real association released normally" 0 "$aborted"

# ---- require = 0
start srv0.log --cert server.pem --key server.key --trusted ca.pem --require 0
check "anonymous TLS accepted (require=0)" 0 "$(echo_tls +tla +cf ca.pem -aet ANON)"
sleep 0.2
grep -q 'calling=ANON .*tls=1 subject=NULL sha256=NULL' srv0.log; check "  callback: tls=1, no certificate" 0 $?
check "client certificate verified (require=0)" 0 "$(good)"
check "rogue certificate refused (require=0)" 1 "$(echo_tls +tls rogue.key rogue.pem +cf ca.pem -aet ROGUE)"
check "  then a good client" 0 "$(good)"

# ---- a pinned peer certificate (trusted file = the client's own certificate, not its CA)
start srvpin.log --cert server.pem --key server.key --trusted client.pem --require 1
check "pinned client certificate" 0 "$(good)"
check "rogue certificate refused (pinned)" 1 "$(echo_tls +tls rogue.key rogue.pem +cf ca.pem -aet ROGUE)"

# ---- plain TCP server: unchanged
start srvplain.log
check "plain server, plain client" 0 "$(echo_tls -aet PLAIN)"
sleep 0.2
grep -q 'calling=PLAIN .*tls=0 subject=NULL sha256=NULL' srvplain.log; check "  callback: tls=0" 0 $?

# ---- clean stop (SIGTERM → cdcm_scp_stop), also under the sanitizer's leak check
for pid in "${pids[@]}"; do kill -TERM "$pid"; wait "$pid"; check "server $pid stopped cleanly" 0 $?; done
pids=()
grep -h -A3 'ERROR: \(Address\|Leak\)Sanitizer' srv*.log && failures=$((failures + 1))

echo "failures: $failures"
[ "$failures" -eq 0 ]
