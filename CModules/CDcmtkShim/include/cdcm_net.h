/*
 * cdcm_net.h — DIMSE service class provider (and the C-STORE SCU it needs for C-MOVE) over DCMTK.
 *
 * Threading: the SCP runs DCMTK's thread pool (one DCMTK thread per association). Every callback
 * below is called on such a thread, never on a Swift cooperative thread, and may block. The
 * callbacks receive the `context` pointer given in cdcm_scp_config, unchanged.
 * Same house rules as cdcm.h: opaque handles with *_free, no C++ exception crosses, status codes.
 */
#ifndef CDCM_NET_H
#define CDCM_NET_H

#include "cdcm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Building datasets (C-FIND identifiers and responses) ---------------------------------- */

/* An empty dataset (no meta header), to be filled with cdcm_dataset_put_string. */
int32_t cdcm_dataset_new(cdcm_dataset **out, cdcm_error *error);
/* Puts a text value at path (items of sequences are created as needed; the element's VR comes
 * from the data dictionary; numbers are parsed from text for binary VRs such as US/UL). An empty
 * value creates an empty element (a return key). Values are UTF-8; the dataset's
 * SpecificCharacterSet is set by the caller ("ISO_IR 192"). */
/* (Details: replaces an existing element; items up to the given index are created (empty ones
 * before it). A tag the dictionary does not know gets VR LO; "US or SS" becomes SS for a negative
 * value, else US. Numbers must be decimal and within the VR's range (CDCM_ERR_ARGUMENT otherwise);
 * AT values are 8 hex digits per tag as cdcm_dataset_get_string writes them ("00100010\0020000D"),
 * "(0010,0010)" is accepted too. An empty value on a sequence tag creates an empty sequence.
 * CDCM_ERR_ARGUMENT for a malformed path, a step through an element or tag that is not a sequence,
 * groups 0x0000/0x0002/0xFFFE, group length tags, and VRs without a text form (OB, OW, UN, pixel
 * data ...).) */
int32_t cdcm_dataset_put_string(cdcm_dataset *dataset, cdcm_path path, const char *value, cdcm_error *error);
/* Puts an empty sequence (a sequence return key with no items) at path. */
int32_t cdcm_dataset_put_empty_sequence(cdcm_dataset *dataset, cdcm_path path, cdcm_error *error);
/* Lists the top-level tags of the dataset in order (for reading the return keys of a C-FIND
 * identifier). *tags points to an array owned by the handle; *count its length. */
/* (The array stays valid until the next cdcm_dataset_top_level_tags call on the handle or its
 * free; ascending tag order, as
 * DCMTK keeps elements sorted. Works on any dataset handle, e.g. one from cdcm_dataset_open_file.) */
int32_t cdcm_dataset_top_level_tags(cdcm_dataset *dataset, const uint32_t **tags, size_t *count);

/* ---- The SCP ------------------------------------------------------------------------------- */

typedef struct cdcm_association_info {
    uint64_t association_id;          /* unique in the process, for logs */
    const char *calling_ae;           /* the peer's AE title, trimmed */
    const char *called_ae;            /* the AE title the peer called, trimmed */
    const char *peer_host;            /* numeric address of the peer */
    uint32_t max_pdu_peer;            /* the peer's max receive PDU */
    const char *peer_certificate_subject; /* the client certificate's subject, OpenSSL one-line form;
                                           * NULL without TLS or when the client sent no certificate */
    const char *peer_certificate_sha256;  /* SHA-256 of the client certificate's DER: 64 lowercase hex
                                           * digits, no colons; NULL as above */
    int32_t tls;                      /* 1 when the association came over TLS, else 0 */
} cdcm_association_info;
/* (Strings live until the callback returns. A client certificate reported here has been verified
 * against tls_trusted_certificates_file during the handshake (a certificate that does not verify
 * fails the handshake before any callback). The subject is what `openssl x509 -noout -subject`
 * (OpenSSL 3, i.e. -nameopt oneline) prints after "subject=", e.g.
 * "C = VN, O = Bach Mai Hospital, CN = BACHMAI_PACS": bytes outside ASCII are escaped as \XX
 * and values holding separators are quoted. The fingerprint equals `openssl x509 -noout
 * -fingerprint -sha256` lowercased without colons.) */

/* A-ASSOCIATE-RJ parameters (PS3.8 Table 9-21). result: 1 rejected-permanent, 2 rejected-transient;
 * source: 1 service-user, 2 service-provider (ACSE), 3 service-provider (presentation);
 * reason (source 1): 1 no-reason, 2 application-context-name-not-supported,
 *   3 calling-AE-title-not-recognized, 7 called-AE-title-not-recognized;
 * reason (source 3): 1 temporary-congestion, 2 local-limit-exceeded. */
typedef struct cdcm_reject {
    uint8_t result;
    uint8_t source;
    uint8_t reason;
} cdcm_reject;

/* Called for every A-ASSOCIATE-RQ before anything else. Return 1 to accept; 0 to reject with
 * *reject filled. The pool-full case ("local limit exceeded") is handled by the shim itself.
 * (Details: called on the association's own thread, so a slow decision does not hold up other
 * peers; not called for requests the shim rejects itself: pool full (2, 3, 2) or server stopping
 * (2, 3, 1). *reject starts as (1, 1, 1); values PS3.8 does not define are sent as (1, 1, 1).
 * The shim does not check the called AE title itself (DCMTK answers with the called AE title):
 * this callback is the whole AE policy. After acceptance DCMTK may still reject: (1, 1, 1) when
 * no proposed presentation context is acceptable (checked), or for a foreign application
 * context name.) */
typedef int32_t (*cdcm_association_callback)(void *context, const cdcm_association_info *info, cdcm_reject *reject);

/* Called when an association ends (released, aborted, or timed out). `aborted` is 1 when it did not
 * end with a normal A-RELEASE. */
/* (Called exactly once for every association the association callback accepted, also when DCMTK
 * then rejected it for lack of acceptable presentation contexts (aborted = 1); never for
 * rejected ones.) */
typedef void (*cdcm_association_end_callback)(void *context, uint64_t association_id, int32_t aborted);

/* C-ECHO: return the DIMSE status (0x0000). */
/* A connection closed before any association on it: it sent no complete A-ASSOCIATE-RQ within
 * the ACSE timeout, closed or sent something else, failed its TLS handshake, or came while too
 * many connections were already waiting for theirs. peer_host: its IP address; reason: text for
 * logs. Called on the connection's thread; may be NULL. */
typedef void (*cdcm_connection_dropped_callback)(void *context, const char *peer_host, const char *reason);

typedef uint16_t (*cdcm_echo_callback)(void *context, uint64_t association_id);

/* C-STORE: the instance was received completely and written by DCMTK, bit-preserving, with a
 * Part 10 meta header (whose SourceApplicationEntityTitle is the calling AE) to `file_path`, a
 * new file in the configured temporary folder. The callback takes ownership of the file (moves or
 * deletes it); the shim deletes it if it is still there after the callback returns. Return the
 * DIMSE status to answer (0x0000 success only when the instance is durably stored and indexed;
 * 0xA700, 0xA900, 0xC000, 0xB000 ...). `error_comment` (max 64 chars, may be left empty) is sent
 * as ErrorComment (0000,0902) on failure statuses. If the transfer was aborted or the data set was
 * incomplete, the callback is NOT called and the partial file is deleted by the shim. */
/* (Details: the UIDs are the Affected SOP Class/Instance UID of the C-STORE-RQ, not read from the
 * data set; transfer_syntax_uid is the presentation context's, i.e. the encoding of the data set in
 * the file. The file is created with mode 0644 & ~umask; its meta header is DCMTK's storescp's: its own
 * implementation class UID and version name "OFFIS_DCMBP_367". error_comment is sent with any status
 * other than 0x0000. C-STORE on a context that is not a storage SOP class is answered 0x0122 without
 * calling back; 0xA700 when the temporary file cannot be created or written, e.g. on a full disk
 * (the data set is read to its end first). Both are reported through on_store_refused.) */
typedef uint16_t (*cdcm_store_callback)(void *context, uint64_t association_id, const char *file_path,
                                        const char *sop_class_uid, const char *sop_instance_uid,
                                        const char *transfer_syntax_uid, char error_comment[65]);

/* A C-STORE the shim answered itself, without calling on_store: `status` 0x0122 (not a storage
 * context) or 0xA700 (the received data set could not be written: full disk, no temporary file),
 * with the error comment sent. For logs and counts only; may be NULL. */
typedef void (*cdcm_store_refused_callback)(void *context, uint64_t association_id, const char *sop_instance_uid,
                                            uint16_t status, const char *error_comment);

/* C-FIND: `identifier` is the request identifier (borrowed for the call). `model` is 'P' (Patient
 * Root) or 'S' (Study Root). `options`: CDCM_FIND_FUZZY_NAMES when the requestor asked for, and was
 * granted, fuzzy semantic matching of person names for this model (C-FIND extended negotiation,
 * PS3.4 C.5.1.1.1: the shim agrees to that byte only; relational queries, combined date-time
 * matching, timezone adjustment and enhanced multi-frame conversion are answered 0). The callback answers by calling cdcm_find_respond(responder, dataset)
 * once per match (each becomes a Pending 0xFF00 response; the call returns 1 when the peer sent
 * C-CANCEL, after which the callback should stop and return 0xFE00), then returns the final status:
 * 0x0000, 0xFE00 (cancelled), 0xA700, 0xA900 (identifier does not match SOP class), 0xC000. */
/* (Details: the identifier's text is converted to UTF-8 as cdcm_dataset_open_file does (the
 * Japanese ISO 2022 fallback included; when conversion fails the values stay as received and
 * cdcm_dataset_charset_converted says why); its top-level tags are those of the request (DCMTK's
 * conversion adds SpecificCharacterSet to a dataset that had none; the shim removes it again). A
 * pending status returned as final becomes 0xC000; after a C-CANCEL the final status is 0xFE00
 * whatever the callback returns. A C-CANCEL arriving after the final response is ignored.) */
typedef struct cdcm_find_responder cdcm_find_responder;
#define CDCM_FIND_FUZZY_NAMES 1u
typedef uint16_t (*cdcm_find_callback)(void *context, uint64_t association_id, char model, uint32_t options,
                                       cdcm_dataset *identifier, cdcm_find_responder *responder,
                                       char error_comment[65]);
/* Sends one pending response with `match` (borrowed). Returns 1 if the peer has cancelled, 0 to go
 * on, <0 if the association failed (stop then). */
/* (After every fourth pending response the shim polls, without waiting, for a C-CANCEL. Anything else the
 * peer sends meanwhile (a new request, a cancel for another message ID) counts as a failed
 * association: the shim then aborts it after the callback returns.) */
int32_t cdcm_find_respond(cdcm_find_responder *responder, cdcm_dataset *match);

/* C-MOVE and C-GET: the callback resolves the request to the files to send.
 * For C-MOVE, `move_destination` is the requested destination AE; the callback fills
 * destination->host/port (buffers owned by the caller of the shim: copy into the provided arrays)
 * or returns 0xA801 (move destination unknown). For C-GET `move_destination` is NULL.
 * The callback returns 0x0000 and fills the file list by calling cdcm_retrieve_add_file for each
 * stored file to send (path + its SOP class/instance UIDs + transfer syntax), or a failure status
 * (0xA700, 0xA900, 0xC000, 0xA801). The shim then does the sub-operations (a new association to
 * the destination for C-MOVE, with the called AE = move_destination and calling AE = our AE; C-STORE
 * sub-operations on the same association for C-GET, using the storage contexts the requester
 * proposed as SCP role), sends Pending responses with remaining/completed/failed/warning counts
 * after each sub-operation, honours C-CANCEL, and sends the final response (0x0000 all done;
 * 0xB000 some failed; 0xA702 none succeeded for C-MOVE refused... as PS3.4 C.4.2.1.5 / C.4.3.1.4 say,
 * with FailedSOPInstanceUIDList). When the peer does not accept the stored transfer syntax, the
 * shim converts the dataset to Explicit or Implicit VR Little Endian (decompressing if needed) if
 * the peer accepts one of those, else that sub-operation fails. */
/* (Details of the implementation:
 *  - C-GET: `destination` points to a scratch struct that is ignored.
 *  - C-MOVE sub-association: one presentation context per distinct (SOP class, stored transfer
 *    syntax) of the file list, then one [Explicit VR LE, Implicit VR LE] context per SOP class, at
 *    most 128 in all; called AE = move destination, calling AE = our AE; each C-STORE-RQ carries
 *    the Move Originator AE title and message ID. connect() is bounded by the ACSE timeout.
 *  - The stored transfer syntax is read from each file's meta header (transfer_syntax_uid is only
 *    used for the proposal and for files without meta information). A file whose syntax was
 *    accepted is streamed as it is (bit-preserving); otherwise it is loaded, decompressed (JPEG,
 *    JPEG-LS, RLE; JPEG 2000 with OpenJPEG; not video) and sent as Explicit or Implicit VR Little
 *    Endian; a file that cannot be read or decoded, or an instance with no usable context, is a
 *    failed sub-operation.
 *  - C-GET uses the requestor's storage contexts on which it took the SCP role (SCP/SCU role
 *    selection); for such contexts the shim accepts an uncompressed syntax first (see
 *    cdcm_scp_create) so that anything it can decode can be sent.
 *  - Counts are Uint16 on the wire (clamped at 65535). Pending responses after every sub-operation
 *    but the last; final: 0x0000 when all completed; 0xB000 when some failed or had warnings;
 *    0xA702 when none completed (also when the move destination cannot be reached: ErrorComment
 *    says why); 0xFE00 after a C-CANCEL, with the number of remaining sub-operations. The final
 *    response carries FailedSOPInstanceUIDList (0008,0058) whenever a sub-operation failed. Note:
 *    DCMTK 3.6.7's getscu does not read that identifier and then fails its A-RELEASE ("DUL P-Data
 *    PDU arrived"); movescu and pynetdicom read it.
 *  - A failure status from the callback is sent as the final response with error_comment and
 *    without counts.) */
typedef struct cdcm_retrieve_request cdcm_retrieve_request;
typedef struct cdcm_move_destination {
    char host[256];
    uint16_t port;
} cdcm_move_destination;
typedef uint16_t (*cdcm_retrieve_callback)(void *context, uint64_t association_id, char model, cdcm_dataset *identifier,
                                           const char *move_destination, cdcm_move_destination *destination,
                                           cdcm_retrieve_request *request, char error_comment[65]);
int32_t cdcm_retrieve_add_file(cdcm_retrieve_request *request, const char *path, const char *sop_class_uid,
                               const char *sop_instance_uid, const char *transfer_syntax_uid);

typedef struct cdcm_scp_config {
    const char *ae_title;             /* our AE title */
    const char *bind_address;         /* NULL or "" for all interfaces; tests use "127.0.0.1" if supported */
                                      /* (IPv4 dotted form only: DCMTK 3.6.7 listens on IPv4) */
    uint16_t port;
    uint32_t max_receive_pdu;         /* e.g. 65536 (DCMTK default 16384) */
                                      /* (0 means 16384; clamped to DCMTK's 4096..131072) */
    uint32_t acse_timeout_seconds;    /* association negotiation */
                                      /* (>= 1; also the wait for the A-ASSOCIATE-RQ after a TCP
                                       * connect, during which the accept loop is busy: see run) */
    uint32_t dimse_timeout_seconds;   /* also the idle timeout of an open association; must be finite */
                                      /* (>= 1; an association idle that long is aborted) */
    uint32_t max_associations;        /* size of the worker pool (>= 1) */
    uint32_t shutdown_grace_seconds;  /* after a stop, how long associations in flight may take to
                                       * end by themselves; those still open then are aborted (their
                                       * connections shut down). 0: no bound (each ends by itself or
                                       * at its DIMSE timeout) */
    const char *temporary_folder;     /* where C-STORE data sets are written (same file system as the store) */
    void *context;
    cdcm_association_callback on_association;
    cdcm_association_end_callback on_association_end;
    cdcm_echo_callback on_echo;
    cdcm_store_callback on_store;
    cdcm_store_refused_callback on_store_refused;
    cdcm_find_callback on_find;
    cdcm_retrieve_callback on_move;
    cdcm_retrieve_callback on_get;
    cdcm_connection_dropped_callback on_connection_dropped;
    /* DICOM TLS (PS3.15 B.9/B.11) on the listening port; the C-MOVE sub-associations stay plain TCP. */
    const char *tls_certificate_file; /* PEM certificate (chain) of the server; NULL or "" = plain TCP */
    const char *tls_private_key_file; /* PEM private key of that certificate (unencrypted) */
    const char *tls_trusted_certificates_file; /* PEM file of CA or peer certificates trusted to verify
                                                * CLIENT certificates; NULL or "" = none trusted */
    int32_t tls_require_client_certificate; /* 1: the handshake fails unless the client presents a
                                             * certificate that verifies; 0: a client certificate is
                                             * optional, but verified when sent */
} cdcm_scp_config;
/* (TLS details: DCMTK's Non-downgrading BCP 195 profile (TSP_Profile_BCP195_ND): TLS 1.2 or 1.3
 * only; in TLS 1.2 the ECDHE/DHE-RSA AES-GCM suites, so the server key must be RSA (2048 bits or
 * more recommended). Client certificates: verified against the trusted file, every certificate in
 * it being a trust anchor (X509_V_FLAG_PARTIAL_CHAIN), so a file may hold CA certificates, peer
 * certificates themselves (pinning), or both; the certificate names in it are also sent as the
 * acceptable CA list. No revocation lists, no host name checks. With require 0 and no trusted file,
 * clients without a certificate connect and a client that sends one fails its handshake.
 * CDCM_ERR_IO when a file cannot be read; CDCM_ERR_ARGUMENT when a file holds no PEM certificate /
 * key, when the key does not match the certificate (or is encrypted), for a key or trusted file
 * without a certificate file (or the reverse), and for tls_require_client_certificate = 1 without
 * a trusted file. A failed handshake (a plain-TCP client, a certificate that does not verify, a
 * client that speaks too slowly) is dropped before on_association (on_connection_dropped says so).
 * The handshake runs on the connection's own thread, bounded as a whole by the ACSE timeout, like
 * the wait for the A-ASSOCIATE-RQ that follows it, so a client that stalls in its handshake delays
 * no other client.) */
/* (A NULL on_echo answers 0x0000. A NULL on_store, on_find, on_move or on_get means that service
 * is not offered: its presentation contexts are refused. Strings are copied by cdcm_scp_create.) */

typedef struct cdcm_scp cdcm_scp;

/* Creates the SCP and binds the port (fails with CDCM_ERR_IO and the reason if it is taken).
 * Presentation contexts: Verification; Patient Root and Study Root FIND/MOVE/GET; every storage
 * SOP class DCMTK knows (dcmAllStorageSOPClassUIDs) and the patient storage classes added to the
 * standard since (kNewerStorageSOPClasses), each with the transfer syntaxes:
 * implicit/explicit little endian,
 * explicit big endian, deflated, JPEG baseline/extended/lossless 14 and SV1, JPEG-LS lossless and
 * near-lossless, JPEG 2000 lossless and lossy, RLE, MPEG2 MP@ML/MP@HL, MPEG-4 AVC variants, HEVC
 * main/main10. Sets TCP_NODELAY=1 in the environment
 * (setenv) before DCMTK opens sockets if it is not set.
 * (Negotiation is done by the shim for each proposed context, not with DcmSCPConfig profiles: DCMTK
 * evaluates one active profile only and a profile holds at most 128 contexts, fewer than the
 * storage SOP classes, so there is no 128 limit on what is accepted. Storage: accepted with the
 * requestor's first proposed syntax from the list (it knows what it holds), with SCP/SCU role
 * selection (requestor as SCU for C-STORE to us when on_store is set, as SCP for C-GET when
 * on_get is set); for contexts where the requestor proposed the SCP role, Explicit LE, Implicit LE,
 * Big Endian are preferred. Verification and Q/R: Explicit LE, Implicit LE, Big Endian.
 * Process-wide effects: TCP_NODELAY as said; reverse DNS lookup of peers is switched off
 * (dcmDisableGethostbyaddr, so peer_host is numeric); dcmConnectionTimeout = ACSE timeout;
 * DCMTK's network initialisation sets SIGPIPE to SIG_IGN. Port 0 binds a free port (see
 * cdcm_scp_port). The sockets are close-on-exec.) */
int32_t cdcm_scp_create(const cdcm_scp_config *config, cdcm_scp **out, cdcm_error *error);
/* Runs the accept loop on the calling thread until cdcm_scp_stop; returns after in-flight
 * associations have finished, or, once shutdown_grace_seconds have passed, have been aborted. */
/* (The loop polls for connections with a 1 s timeout, so it sees a stop within about 1 s. A peer
 * that opens a TCP connection without sending its A-ASSOCIATE-RQ holds the loop for up to the ACSE
 * timeout (DCMTK reads the request before handing the connection over); with TLS the handshake
 * comes first and is bounded as a whole by the ACSE timeout too (so one TLS connection holds the
 * loop for at most about twice the ACSE timeout). Each accepted association
 * runs on its own thread; beyond max_associations the request is rejected (2, 3, 2). Once stopped,
 * the port refuses new connections at once while in-flight associations finish (an idle one ends
 * at its DIMSE timeout, or is aborted once shutdown_grace_seconds have passed). A stop is final:
 * run returns at once if called again. CDCM_ERR_ARGUMENT if run is already running.) */
int32_t cdcm_scp_run(cdcm_scp *scp, cdcm_error *error);
/* How many associations the last run aborted because they outlived shutdown_grace_seconds. */
uint32_t cdcm_scp_aborted_at_stop(const cdcm_scp *scp);
/* Asks the accept loop to stop (thread-safe, returns at once). */
void cdcm_scp_stop(cdcm_scp *scp);
/* The port actually bound (useful with port 0, if supported). */
uint16_t cdcm_scp_port(const cdcm_scp *scp);
/* (Call only when cdcm_scp_run is not running, i.e. after it returned or if it was never called.) */
void cdcm_scp_free(cdcm_scp *scp);

#ifdef __cplusplus
}
#endif

#endif /* CDCM_NET_H */
