// cdcm_tls.h — private C++ declarations for DICOM TLS on the SCP (cdcm_tls.cpp), used by
// cdcm_net.cpp. Not part of the C API.
#ifndef CDCM_TLS_H
#define CDCM_TLS_H

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmnet/assoc.h"
#include "dcmtk/dcmnet/dcmlayer.h"
#include "dcmtk/dcmnet/dcmtrans.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace cdcm_detail {

struct TlsServerSettings {
    std::string certificateFile;         // PEM certificate (chain) of the server; "" = no TLS
    std::string privateKeyFile;          // PEM private key, unencrypted
    std::string trustedCertificatesFile; // PEM CA / peer certificates for client certificates; may be ""
    bool requireClientCertificate = false;
    uint32_t handshakeTimeoutSeconds = 30; // the whole server-side handshake (>= 1)
};

// The TLS transport layer of an acceptor network: certificate and key loaded and checked,
// trusted certificates loaded, the Non-downgrading BCP 195 profile active, client certificate
// verification set. On failure: nullptr, *status (CDCM_ERR_IO for an unreadable file,
// CDCM_ERR_ARGUMENT for bad contents or settings, CDCM_ERR_INTERNAL otherwise) and *message.
// Connections it creates run the handshake without blocking past handshakeTimeoutSeconds.
std::unique_ptr<DcmTransportLayer> makeServerTransportLayer(const TlsServerSettings &settings, int32_t *status,
                                                            std::string *message);

// The server side of the TLS handshake on an accepted socket, run by the connection's thread
// before DCMTK receives the association (outside the shim's receive lock), then a wait for the
// first decrypted bytes of the A-ASSOCIATE-RQ: both bounded by the layer's handshake timeout, and
// given up within half a second once *stop is true.
// "" on success: the SSL waits for this thread's next createConnection() on `fd` (DCMTK's
// receive). Else why it failed; the socket stays the caller's.
std::string handshakeBeforeReceive(DcmTransportLayer *layer, int fd, const std::atomic<bool> *stop);

// Frees a handshake DCMTK did not take (its receive failed before it made the connection).
void discardPendingHandshake();

// True when the association's transport connection is a TLS connection.
bool isSecureAssociation(T_ASC_Association *assoc);

// The peer's certificate, if it sent one over TLS: its subject (OpenSSL one-line form, as
// `openssl x509 -noout -subject` prints it) and the SHA-256 of its DER in lowercase hex.
bool peerCertificate(T_ASC_Association *assoc, std::string *subject, std::string *sha256);

// Puts DCMTK's receive timeout (dcmSocketReceiveTimeout) back on the association's socket once
// the A-ASSOCIATE-RQ has been read (the handshake and the request ran with the ACSE timeout).
void restoreReceiveTimeout(T_ASC_Association *assoc);

} // namespace cdcm_detail

#endif
