// cdcm_tls.cpp — DICOM TLS for the SCP of cdcm_net.cpp, over DCMTK 3.6.7's dcmtls (OpenSSL).
//
// DCMTK does the server-side TLS handshake inside ASC_receiveAssociation, with a blocking
// SSL_accept() on a socket whose receive timeout is DCMTK's global one (60 s), and the shim runs that
// receive under its one-receive-at-a-time lock (cdcm_net.cpp). So the connection's thread does the
// handshake itself first, outside the lock (handshakeBeforeReceive): SSL_accept() on a non-blocking
// socket with poll() against one deadline (the ACSE timeout), then a wait for the first decrypted
// bytes of the A-ASSOCIATE-RQ; the transport layer's createConnection(), called by DCMTK on the same
// thread, takes that SSL and its serverSideHandshake() has nothing left to do. (Connections made
// otherwise still get the bounded handshake there.) The socket's receive timeout is set to the same
// bound for the rest of the A-ASSOCIATE-RQ that DCMTK reads; the association thread restores
// DCMTK's value.

#include "cdcm_tls.h"

#include "cdcm.h"

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcerror.h"
#include "dcmtk/dcmnet/dul.h"
#include "dcmtk/dcmtls/tlslayer.h"
#include "dcmtk/dcmtls/tlstrans.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

namespace cdcm_detail {
namespace {

// The oldest error in this thread's OpenSSL error queue as text (the queue is emptied).
std::string openSSLErrorText() {
    std::string text;
    unsigned long code = 0;
    while ((code = ERR_get_error()) != 0) {
        if (text.empty()) {
            char buffer[256];
            ERR_error_string_n(code, buffer, sizeof(buffer));
            text = buffer;
        }
    }
    return text.empty() ? std::string("unknown OpenSSL error") : text;
}

void setReceiveTimeout(int fd, long seconds) {
    if (fd < 0 || seconds < 0)
        return;
    timeval tv;
    tv.tv_sec = seconds;
    tv.tv_usec = 0;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

// SSL_accept() on `fd` (non-blocking meanwhile, poll() against one deadline for the whole
// handshake), then, when `firstData` is given, a wait until the peer's first application bytes can
// be read (SSL_peek), against the same deadline. The socket is put back in blocking mode for DCMTK.
// "" on success, else why it failed.
std::string boundedAccept(SSL *ssl, int fd, std::chrono::steady_clock::time_point deadline, bool firstData,
                          const std::atomic<bool> *stop = nullptr) {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return "cannot make the socket non-blocking";
    std::string failure;
    bool handshaken = false;
    ERR_clear_error();
    for (;;) {
        char byte;
        const int result = handshaken ? SSL_peek(ssl, &byte, 1) : SSL_accept(ssl);
        if (result == 1 && !handshaken) {
            handshaken = true;
            if (!firstData)
                break;
            continue;
        }
        if (result > 0)
            break; // application data is there
        const int error = SSL_get_error(ssl, result);
        if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now()).count();
            if (left <= 0) {
                failure = handshaken ? "no A-ASSOCIATE-RQ within the ACSE timeout" : "timed out";
                break;
            }
            if (stop != nullptr && stop->load()) {
                failure = "the server is stopping";
                break;
            }
            pollfd pfd;
            pfd.fd = fd;
            pfd.events = error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
            pfd.revents = 0;
            // In slices, so that a stop is seen within half a second.
            const int ready = ::poll(&pfd, 1, static_cast<int>(std::min<long long>(left, stop != nullptr ? 500 : left)));
            if (ready < 0 && errno != EINTR) {
                failure = std::string("poll failed: ") + std::strerror(errno);
                break;
            }
            continue; // readable, writable, hung up (OpenSSL then reports it) or EINTR
        }
        const long verify = SSL_get_verify_result(ssl);
        if (!handshaken && verify != X509_V_OK)
            failure = std::string("client certificate: ") + X509_verify_cert_error_string(verify);
        else if ((error == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) || error == SSL_ERROR_ZERO_RETURN)
            failure = "connection closed by the peer";
        else
            failure = openSSLErrorText();
        break;
    }
    ERR_clear_error();
    ::fcntl(fd, F_SETFL, flags); // DCMTK reads and writes in blocking mode
    if (!failure.empty() && !handshaken)
        return "TLS handshake failed: " + failure;
    return failure;
}

// A handshake the connection's thread completed before DCMTK's receive (handshakeBeforeReceive),
// waiting for that thread's next createConnection on the same socket.
thread_local SSL *tHandshaken = nullptr;
thread_local int tHandshakenSocket = -1;

// A TLS connection whose server-side handshake cannot block past a deadline, or was done already.
class BoundedHandshakeConnection final : public DcmTLSConnection {
public:
    BoundedHandshakeConnection(DcmNativeSocketType socket, SSL *ssl, uint32_t timeoutSeconds, bool handshaken)
        : DcmTLSConnection(socket, ssl), ssl_(ssl), timeoutSeconds_(timeoutSeconds), handshaken_(handshaken) {}

    OFCondition serverSideHandshake() override {
        if (handshaken_)
            return EC_Normal;
        try {
            const std::string failure = boundedAccept(
                ssl_, static_cast<int>(getSocket()),
                std::chrono::steady_clock::now() + std::chrono::seconds(timeoutSeconds_), false);
            if (!failure.empty())
                return makeOFCondition(OFM_dcmtls, 9000, OF_error, failure.c_str());
            return EC_Normal;
        } catch (...) {
            return makeOFCondition(OFM_dcmtls, 9001, OF_error, "TLS handshake: unexpected C++ exception");
        }
    }

private:
    SSL *ssl_; // owned by DcmTLSConnection
    uint32_t timeoutSeconds_;
    bool handshaken_;
};

class ServerTransportLayer final : public DcmTLSTransportLayer {
public:
    explicit ServerTransportLayer(uint32_t handshakeTimeoutSeconds)
        : DcmTLSTransportLayer(NET_ACCEPTOR, nullptr, OFFalse), timeoutSeconds_(handshakeTimeoutSeconds) {}

    DcmTransportConnection *createConnection(DcmNativeSocketType openSocket, OFBool useSecureLayer) override {
        if (!useSecureLayer)
            return DcmTLSTransportLayer::createConnection(openSocket, useSecureLayer);
        bool handshaken = false;
        SSL *ssl = nullptr;
        if (tHandshaken != nullptr && tHandshakenSocket == static_cast<int>(openSocket)) {
            ssl = tHandshaken;
            handshaken = true;
            tHandshaken = nullptr;
            tHandshakenSocket = -1;
        } else {
            ssl = newSSL(static_cast<int>(openSocket));
            if (ssl == nullptr)
                return nullptr;
        }
        BoundedHandshakeConnection *connection = nullptr;
        try {
            connection = new BoundedHandshakeConnection(openSocket, ssl, timeoutSeconds_, handshaken);
        } catch (...) {
            SSL_free(ssl); // the caller closes the socket when it gets nullptr
            return nullptr;
        }
        // DcmTransportConnection's constructor set DCMTK's receive timeout (60 s): bound the read
        // of the A-ASSOCIATE-RQ after the handshake as the handshake is bounded.
        setReceiveTimeout(static_cast<int>(openSocket), static_cast<long>(timeoutSeconds_));
        return connection;
    }

    // A server-side SSL on `fd`, or nullptr.
    SSL *newSSL(int fd) {
        SSL_CTX *context = getNativeHandle();
        SSL *ssl = context != nullptr ? SSL_new(context) : nullptr;
        if (ssl != nullptr && SSL_set_fd(ssl, fd) != 1) {
            SSL_free(ssl);
            ssl = nullptr;
        }
        return ssl;
    }

    uint32_t timeoutSeconds() const { return timeoutSeconds_; }

private:
    uint32_t timeoutSeconds_;
};

// "" when the file is a regular file that can be opened for reading, else why not.
std::string unreadable(const std::string &path) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0)
        return std::strerror(errno);
    if (!S_ISREG(st.st_mode))
        return "not a regular file";
    FILE *file = std::fopen(path.c_str(), "rb");
    if (file == nullptr)
        return std::strerror(errno);
    std::fclose(file);
    return std::string();
}

// Refuses to ask for a pass phrase (OpenSSL's default would prompt on the terminal).
extern "C" int noPassphrase(char *, int, int, void *) { return -1; }

struct FileCloser {
    void operator()(FILE *f) const { if (f != nullptr) std::fclose(f); }
};
using File = std::unique_ptr<FILE, FileCloser>;

// The certificates in a PEM file (0 when it cannot be read or holds none).
int countCertificates(const std::string &path) {
    File file(std::fopen(path.c_str(), "rb"));
    if (!file)
        return 0;
    int count = 0;
    while (X509 *certificate = PEM_read_X509(file.get(), nullptr, noPassphrase, nullptr)) {
        X509_free(certificate);
        ++count;
    }
    ERR_clear_error(); // the end of the file reads as an error
    return count;
}

// Checks the certificate and key files before DCMTK loads them, for precise messages: the first
// certificate of the chain file and the key must load and form a pair. "" when they do.
std::string checkKeyPair(const TlsServerSettings &settings) {
    File certificateFile(std::fopen(settings.certificateFile.c_str(), "rb"));
    X509 *certificate = certificateFile ? PEM_read_X509(certificateFile.get(), nullptr, noPassphrase, nullptr) : nullptr;
    if (certificate == nullptr) {
        ERR_clear_error();
        return "tls_certificate_file " + settings.certificateFile + " holds no PEM certificate";
    }
    File keyFile(std::fopen(settings.privateKeyFile.c_str(), "rb"));
    EVP_PKEY *key = keyFile ? PEM_read_PrivateKey(keyFile.get(), nullptr, noPassphrase, nullptr) : nullptr;
    if (key == nullptr) {
        X509_free(certificate);
        ERR_clear_error();
        return "tls_private_key_file " + settings.privateKeyFile +
               " holds no unencrypted PEM private key (encrypted keys are not supported)";
    }
    const bool match = X509_check_private_key(certificate, key) == 1;
    EVP_PKEY_free(key);
    X509_free(certificate);
    ERR_clear_error();
    if (!match)
        return "tls_private_key_file " + settings.privateKeyFile + " does not match tls_certificate_file " +
               settings.certificateFile;
    return std::string();
}

std::once_flag gOpenSSLInitOnce;

} // namespace

std::unique_ptr<DcmTransportLayer> makeServerTransportLayer(const TlsServerSettings &settings, int32_t *status,
                                                            std::string *message) {
    auto failWith = [&](int32_t code, const std::string &text) -> std::unique_ptr<DcmTransportLayer> {
        *status = code;
        *message = text;
        ERR_clear_error();
        return nullptr;
    };
    if (settings.certificateFile.empty())
        return failWith(CDCM_ERR_ARGUMENT, "tls_certificate_file is not set");
    if (settings.privateKeyFile.empty())
        return failWith(CDCM_ERR_ARGUMENT, "tls_private_key_file must be set with tls_certificate_file");
    if (settings.requireClientCertificate && settings.trustedCertificatesFile.empty())
        return failWith(CDCM_ERR_ARGUMENT,
                        "tls_require_client_certificate needs tls_trusted_certificates_file (no client could connect)");
    const struct {
        const char *name;
        const std::string &path;
    } files[] = {{"tls_certificate_file", settings.certificateFile},
                 {"tls_private_key_file", settings.privateKeyFile},
                 {"tls_trusted_certificates_file", settings.trustedCertificatesFile}};
    for (const auto &file : files) {
        if (file.path.empty())
            continue;
        const std::string reason = unreadable(file.path);
        if (!reason.empty())
            return failWith(CDCM_ERR_IO, std::string("cannot read ") + file.name + " " + file.path + ": " + reason);
    }

    const std::string pairProblem = checkKeyPair(settings);
    if (!pairProblem.empty())
        return failWith(CDCM_ERR_ARGUMENT, pairProblem);
    if (!settings.trustedCertificatesFile.empty() && countCertificates(settings.trustedCertificatesFile) == 0)
        return failWith(CDCM_ERR_ARGUMENT, "tls_trusted_certificates_file " + settings.trustedCertificatesFile +
                                               " holds no PEM certificate");

    // OpenSSL 1.1+ initialises itself; DCMTK's call is kept (once, it is not thread-safe) for its
    // own set-up. The random generator seeds itself from the OS (no random seed file).
    std::call_once(gOpenSSLInitOnce, [] { DcmTLSTransportLayer::initializeOpenSSL(); });
    ERR_clear_error();

    std::unique_ptr<ServerTransportLayer> layer(new ServerTransportLayer(settings.handshakeTimeoutSeconds));
    if (!*layer)
        return failWith(CDCM_ERR_INTERNAL, "cannot create the TLS context: " + openSSLErrorText());

    // An empty password instead of OpenSSL's console prompt: an encrypted key fails to load.
    layer->setPrivateKeyPasswd("");
    OFCondition cond = layer->setCertificateFile(settings.certificateFile.c_str(), DCF_Filetype_PEM);
    if (cond.bad())
        return failWith(CDCM_ERR_ARGUMENT, "tls_certificate_file " + settings.certificateFile +
                                               " holds no usable PEM certificate chain: " + cond.text());
    cond = layer->setPrivateKeyFile(settings.privateKeyFile.c_str(), DCF_Filetype_PEM);
    if (cond.bad())
        return failWith(CDCM_ERR_ARGUMENT, "tls_private_key_file " + settings.privateKeyFile +
                                               " holds no usable private key: " + cond.text());
    if (!layer->checkPrivateKeyMatchesCertificate())
        return failWith(CDCM_ERR_ARGUMENT, "tls_private_key_file " + settings.privateKeyFile +
                                               " does not match tls_certificate_file " + settings.certificateFile);
    ERR_clear_error();

    if (!settings.trustedCertificatesFile.empty()) {
        const char *trusted = settings.trustedCertificatesFile.c_str();
        cond = layer->addTrustedCertificateFile(trusted, DCF_Filetype_PEM);
        if (cond.bad())
            return failWith(CDCM_ERR_ARGUMENT, "tls_trusted_certificates_file " + settings.trustedCertificatesFile +
                                                   " holds no usable PEM certificate: " + cond.text());
        // The names of the trusted certificates go into the CertificateRequest (acceptable CAs).
        cond = layer->addTrustedClientCertificateFile(trusted);
        if (cond.bad())
            return failWith(CDCM_ERR_ARGUMENT,
                            "tls_trusted_certificates_file " + settings.trustedCertificatesFile + ": " + cond.text());
        // Every certificate of the file is a trust anchor, also a peer's own (non-root) certificate.
        if (layer->addVerificationFlags(X509_V_FLAG_PARTIAL_CHAIN).bad())
            return failWith(CDCM_ERR_INTERNAL, "cannot set the certificate verification flags");
    }
    layer->setCertificateVerification(settings.requireClientCertificate ? DCV_requireCertificate
                                                                        : DCV_checkCertificate);
    cond = layer->setTLSProfile(TSP_Profile_BCP195_ND);
    if (cond.good())
        cond = layer->activateCipherSuites();
    if (cond.bad())
        return failWith(CDCM_ERR_INTERNAL,
                        std::string("cannot activate the BCP 195 (non-downgrading) TLS profile: ") + cond.text());
    ERR_clear_error();
    *status = CDCM_OK;
    message->clear();
    return std::unique_ptr<DcmTransportLayer>(layer.release());
}

bool isSecureAssociation(T_ASC_Association *assoc) {
    if (assoc == nullptr || assoc->DULassociation == nullptr)
        return false;
    DcmTransportConnection *connection = DUL_getTransportConnection(assoc->DULassociation);
    return connection != nullptr && !connection->isTransparentConnection();
}

bool peerCertificate(T_ASC_Association *assoc, std::string *subject, std::string *sha256) {
    subject->clear();
    sha256->clear();
    if (!isSecureAssociation(assoc))
        return false;
    const unsigned long length = ASC_getPeerCertificateLength(assoc);
    if (length == 0)
        return false;
    std::vector<unsigned char> der(length);
    if (ASC_getPeerCertificate(assoc, der.data(), length) != length)
        return false;

    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digestLength = 0;
    if (EVP_Digest(der.data(), der.size(), digest, &digestLength, EVP_sha256(), nullptr) != 1 || digestLength != 32) {
        ERR_clear_error();
        return false;
    }
    static const char hex[] = "0123456789abcdef";
    std::string fingerprint;
    fingerprint.reserve(64);
    for (unsigned int i = 0; i < digestLength; ++i) {
        fingerprint += hex[digest[i] >> 4];
        fingerprint += hex[digest[i] & 0x0F];
    }

    const unsigned char *cursor = der.data();
    X509 *certificate = d2i_X509(nullptr, &cursor, static_cast<long>(der.size()));
    if (certificate == nullptr) {
        ERR_clear_error();
        return false;
    }
    std::string name;
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio != nullptr) {
        // XN_FLAG_ONELINE: `openssl x509 -subject`'s default form in OpenSSL 3 ("C = VN, O = ...").
        if (X509_NAME_print_ex(bio, X509_get_subject_name(certificate), 0, XN_FLAG_ONELINE) >= 0) {
            char *data = nullptr;
            const long size = BIO_get_mem_data(bio, &data);
            if (data != nullptr && size > 0)
                name.assign(data, static_cast<size_t>(size));
        }
        BIO_free(bio);
    }
    X509_free(certificate);
    ERR_clear_error();
    *subject = name;
    *sha256 = fingerprint;
    return true;
}

std::string handshakeBeforeReceive(DcmTransportLayer *layer, int fd, const std::atomic<bool> *stop) {
    ServerTransportLayer *server = dynamic_cast<ServerTransportLayer *>(layer);
    if (server == nullptr)
        return "no TLS layer";
    discardPendingHandshake();
    SSL *ssl = server->newSSL(fd);
    if (ssl == nullptr)
        return "TLS handshake failed: " + openSSLErrorText();
    std::string failure;
    try {
        failure = boundedAccept(ssl, fd, std::chrono::steady_clock::now() + std::chrono::seconds(server->timeoutSeconds()),
                                true, stop);
    } catch (...) {
        failure = "TLS handshake: unexpected C++ exception";
    }
    if (!failure.empty()) {
        SSL_free(ssl); // the socket stays the caller's
        return failure;
    }
    tHandshaken = ssl;
    tHandshakenSocket = fd;
    return std::string();
}

void discardPendingHandshake() {
    if (tHandshaken != nullptr)
        SSL_free(tHandshaken);
    tHandshaken = nullptr;
    tHandshakenSocket = -1;
}

void restoreReceiveTimeout(T_ASC_Association *assoc) {
    if (!isSecureAssociation(assoc))
        return;
    DcmTransportConnection *connection = DUL_getTransportConnection(assoc->DULassociation);
    struct SocketAccess : DcmTransportConnection {
        static DcmNativeSocketType socketOf(DcmTransportConnection *c) {
            DcmNativeSocketType (DcmTransportConnection::*getter)() = &SocketAccess::getSocket;
            return (c->*getter)();
        }
    };
    setReceiveTimeout(static_cast<int>(SocketAccess::socketOf(connection)), static_cast<long>(dcmSocketReceiveTimeout.get()));
}

} // namespace cdcm_detail
