// cdcm_net.cpp — implementation of include/cdcm_net.h: dataset building for C-FIND, and the DIMSE
// service class provider (C-ECHO, C-STORE, C-FIND, C-MOVE, C-GET) over DCMTK 3.6.7's dcmnet.
//
// Shape of the server (why not DcmSCPPool / DcmBaseSCPPool):
//  - DcmBaseSCPPool (3.6.7) creates its listening socket inside listen(), so a taken port would only
//    show up when the loop starts; its worker threads are joinable but deleted by themselves without
//    ever being joined or detached (one leaked thread stack per association); and runAssociation()
//    writes the new thread's id into the worker after pthread_create(), when a very short
//    association may already have deleted that worker. listen() also resets its stop flag on entry.
//  - So the shim runs its own accept loop on the listening socket of a T_ASC_Network created (and
//    bound) in cdcm_scp_create: poll() with a 1 s timeout so cdcm_scp_stop is seen within a second,
//    accept(), and one std::thread per connection (joined). DCMTK's ASC_receiveAssociation would
//    accept and read the A-ASSOCIATE-RQ on the loop's thread: a connection that sends nothing held
//    every later one up to the ACSE timeout. The connection's thread waits for the request instead
//    (the whole PDU in the socket buffer, or the first TLS bytes), then hands the socket to DCMTK
//    through dcmExternalSocketHandle (a process-wide global, DCMTK's inetd mode: set, received and
//    cleared under one lock, so the receive itself does not block; a TLS handshake is done before,
//    outside the lock). It counts established
//    associations (rejecting beyond max_associations with "local limit exceeded", as DCMTK's pool
//    does); connections still waiting are bounded separately (beyond it they are closed at once).
//  - Each association is served by an AssociationWorker derived from DcmThreadSCP (DCMTK's
//    per-association SCP), which gets the server as its context. DcmSCP handles the association
//    life cycle (A-ASSOCIATE-AC, release, abort, DIMSE timeout); the shim overrides the
//    presentation context negotiation and the command handling.
//  - Presentation contexts are negotiated by the shim itself (negotiateAssociation() override)
//    from its own tables: DcmSCPConfig evaluates ONE active association profile, and one profile
//    holds at most 128 presentation contexts, fewer than DCMTK's storage SOP classes. Splitting the
//    list over several profiles would not help (only the active one is used), so the profile
//    machinery is bypassed and every proposed context is accepted or refused here.
//  - DICOM TLS (cdcm_tls.cpp): a DcmTLSTransportLayer subclass is set on the acceptor network; the
//    connection's thread does the handshake (bounded by the ACSE timeout) and hands the SSL to the
//    connection DCMTK creates in ASC_receiveAssociation; a failed handshake drops the connection.

#include "cdcm.h"
#include "cdcm_internal.h"
#include "cdcm_j2k.h"
#include "cdcm_net.h"
#include "cdcm_tls.h"

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dctk.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmnet/assoc.h"
#include "dcmtk/dcmnet/dcmtrans.h"
#include "dcmtk/dcmnet/dimse.h"
#include "dcmtk/dcmnet/diutil.h"
#include "dcmtk/dcmnet/dul.h"
#include "dcmtk/dcmnet/extneg.h"
#include "dcmtk/dcmnet/scpthrd.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <set>
#include <string>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

namespace {

// ---------------------------------------------------------------------------------------------
// Errors (same conventions as cdcm.cpp)

using cdcm_detail::clearError;
using cdcm_detail::fail;

using cdcm_detail::internalFailure;

std::string errnoText(int code) {
    char buffer[256];
    buffer[0] = '\0';
#if (_POSIX_C_SOURCE >= 200112L) && !defined(_GNU_SOURCE)
    if (strerror_r(code, buffer, sizeof(buffer)) != 0)
        return "unknown error";
    return buffer;
#else
    return strerror_r(code, buffer, sizeof(buffer));
#endif
}

DcmTagKey tagKey(uint32_t tag) { return DcmTagKey(static_cast<Uint16>(tag >> 16), static_cast<Uint16>(tag & 0xFFFFu)); }

std::string trim(const char *text) {
    if (text == nullptr)
        return std::string();
    std::string s(text);
    const size_t begin = s.find_first_not_of(' ');
    if (begin == std::string::npos)
        return std::string();
    const size_t end = s.find_last_not_of(' ');
    return s.substr(begin, end - begin + 1);
}

// ---------------------------------------------------------------------------------------------
// Dataset building

// The item that holds the last element of `path`, creating sequences and items on the way.
int32_t itemForPut(cdcm_dataset *handle, const cdcm_path &path, DcmItem **out) {
    if (path.depth == 0 || path.tags == nullptr || (path.depth > 1 && path.items == nullptr))
        return CDCM_ERR_ARGUMENT;
    for (size_t level = 0; level < path.depth; ++level) {
        const uint16_t group = static_cast<uint16_t>(path.tags[level] >> 16);
        if (group == 0x0000 || group == 0x0002 || (path.tags[level] & 0xFFFFu) == 0x0000u || group == 0xFFFE)
            return CDCM_ERR_ARGUMENT; // command, meta information, group lengths, item delimiters
    }
    DcmItem *current = handle->file->getDataset();
    for (size_t level = 0; level + 1 < path.depth; ++level) {
        const DcmTagKey key = tagKey(path.tags[level]);
        DcmElement *existing = nullptr;
        if (current->findAndGetElement(key, existing, OFFalse).good() && existing != nullptr &&
            existing->ident() != EVR_SQ)
            return CDCM_ERR_ARGUMENT; // a step through an element that is not a sequence
        if (existing == nullptr && DcmTag(key).getEVR() != EVR_SQ)
            return CDCM_ERR_ARGUMENT; // the dictionary does not know this tag as a sequence
        if (path.items[level] > 0x7FFFFFFFu)
            return CDCM_ERR_ARGUMENT;
        DcmItem *item = nullptr;
        const OFCondition cond =
            current->findOrCreateSequenceItem(DcmTag(key, EVR_SQ), item, static_cast<signed long>(path.items[level]));
        if (cond.bad() || item == nullptr)
            return CDCM_ERR_INTERNAL;
        current = item;
    }
    *out = current;
    return CDCM_OK;
}

// "00100010" (as cdcm_dataset_get_string writes AT values) or "(0010,0010)" / "0010,0010"
// → DCMTK's AT text form "(0010,0010)". Returns false for anything else.
bool attributeTagText(const std::string &value, std::string *out) {
    std::string result;
    size_t start = 0;
    while (start <= value.size()) {
        size_t end = value.find('\\', start);
        if (end == std::string::npos)
            end = value.size();
        std::string one;
        for (char c : value.substr(start, end - start))
            if (std::isxdigit(static_cast<unsigned char>(c)))
                one += c;
            else if (c != '(' && c != ')' && c != ',' && c != ' ')
                return false;
        if (one.size() != 8)
            return false;
        if (!result.empty())
            result += '\\';
        result += "(" + one.substr(0, 4) + "," + one.substr(4, 4) + ")";
        start = end + 1;
        if (end == value.size())
            break;
    }
    *out = result;
    return true;
}

// Checks every backslash-separated value of a binary number VR: decimal text within the VR's range
// (DCMTK's putString would wrap 70000 into a US silently).
bool validNumbers(DcmEVR vr, const std::string &value) {
    size_t start = 0;
    for (;;) {
        size_t end = value.find('\\', start);
        if (end == std::string::npos)
            end = value.size();
        std::string one = value.substr(start, end - start);
        const size_t b = one.find_first_not_of(' ');
        const size_t e = one.find_last_not_of(' ');
        if (b == std::string::npos)
            return false;
        one = one.substr(b, e - b + 1);
        char *stop = nullptr;
        errno = 0;
        bool ok = false;
        switch (vr) {
        case EVR_US: case EVR_UL: case EVR_UV: {
            if (one[0] == '-')
                return false;
            const unsigned long long v = std::strtoull(one.c_str(), &stop, 10);
            const unsigned long long max = vr == EVR_US ? 0xFFFFull : vr == EVR_UL ? 0xFFFFFFFFull : ~0ull;
            ok = errno == 0 && v <= max;
            break;
        }
        case EVR_SS: case EVR_SL: case EVR_SV: {
            const long long v = std::strtoll(one.c_str(), &stop, 10);
            const long long min = vr == EVR_SS ? -32768ll : vr == EVR_SL ? -2147483648ll : LLONG_MIN;
            const long long max = vr == EVR_SS ? 32767ll : vr == EVR_SL ? 2147483647ll : LLONG_MAX;
            ok = errno == 0 && v >= min && v <= max;
            break;
        }
        case EVR_FL: case EVR_FD: {
            const double v = std::strtod(one.c_str(), &stop);
            ok = errno == 0 && (vr == EVR_FD || (v >= -3.4028234663852886e38 && v <= 3.4028234663852886e38));
            break;
        }
        default:
            return false;
        }
        if (!ok || stop == nullptr || *stop != '\0')
            return false;
        if (end == value.size())
            return true;
        start = end + 1;
    }
}

enum class PutKind { text, number, tag, sequence, binary };

PutKind putKind(DcmEVR vr) {
    switch (vr) {
    case EVR_AE: case EVR_AS: case EVR_CS: case EVR_DA: case EVR_DS: case EVR_DT: case EVR_IS:
    case EVR_LO: case EVR_LT: case EVR_PN: case EVR_SH: case EVR_ST: case EVR_TM: case EVR_UC:
    case EVR_UI: case EVR_UR: case EVR_UT:
        return PutKind::text;
    case EVR_US: case EVR_SS: case EVR_UL: case EVR_SL: case EVR_FL: case EVR_FD: case EVR_SV:
    case EVR_UV:
        return PutKind::number;
    case EVR_AT:
        return PutKind::tag;
    case EVR_SQ:
        return PutKind::sequence;
    default:
        return PutKind::binary;
    }
}

// The VR to use for `key`: the dictionary's; US for the ambiguous "US or SS" (SS when the value
// is negative); LO for tags the dictionary does not know (UN cannot carry text).
DcmTag tagForPut(const DcmTagKey &key, const char *value) {
    DcmTag tag(key);
    switch (tag.getEVR()) {
    case EVR_xs:
        tag.setVR(DcmVR((value != nullptr && std::strchr(value, '-') != nullptr) ? EVR_SS : EVR_US));
        break;
    case EVR_UN:
    case EVR_UNKNOWN:
    case EVR_UNKNOWN2B:
        tag.setVR(DcmVR(EVR_LO));
        break;
    default:
        break;
    }
    return tag;
}

// ---------------------------------------------------------------------------------------------
// UTF-8 conversion of received identifiers (as cdcm_dataset_open_* does for files)

void convertToUTF8(cdcm_dataset &handle) {
    DcmDataset &dataset = *handle.file->getDataset();
    std::unique_ptr<DcmDataset> original(new DcmDataset(dataset));
    // DCMTK adds SpecificCharacterSet "ISO_IR 192" to a dataset that had none; the identifier's
    // top-level tags are its return keys, so such an added element is removed again.
    const bool hadCharset = dataset.tagExists(DCM_SpecificCharacterSet);
    std::string warning;
    if (cdcm_detail::needsJapaneseIso2022Fallback(dataset)) {
        std::string reason;
        if (cdcm_detail::convertJapaneseIso2022ToUTF8(dataset, &reason))
            handle.converted = true;
        else
            warning = "text left in its original encoding (ISO 2022 Japanese): " + reason;
    } else {
        const OFCondition cond = handle.file->convertToUTF8();
        if (cond.good())
            handle.converted = true;
        else
            warning = std::string("text left in its original encoding: ") + cond.text();
    }
    if (handle.converted && !hadCharset)
        dataset.findAndDeleteElement(DCM_SpecificCharacterSet);
    if (!handle.converted) {
        handle.file.reset(new DcmFileFormat(original.release(), OFFalse));
        handle.charsetWarning = warning;
        handle.hasWarning = true;
    }
}

// ---------------------------------------------------------------------------------------------
// SOP classes and transfer syntaxes

enum class ServiceKind { none, verification, storage, find, move, get };

const char *const kStorageTransferSyntaxes[] = {
    UID_LittleEndianExplicitTransferSyntax,
    UID_LittleEndianImplicitTransferSyntax,
    UID_BigEndianExplicitTransferSyntax,
    UID_DeflatedExplicitVRLittleEndianTransferSyntax,
    UID_JPEGProcess1TransferSyntax,
    UID_JPEGProcess2_4TransferSyntax,
    UID_JPEGProcess14TransferSyntax,
    UID_JPEGProcess14SV1TransferSyntax,
    UID_JPEGLSLosslessTransferSyntax,
    UID_JPEGLSLossyTransferSyntax,
    UID_JPEG2000LosslessOnlyTransferSyntax,
    UID_JPEG2000TransferSyntax,
    UID_RLELosslessTransferSyntax,
    UID_MPEG2MainProfileAtMainLevelTransferSyntax,
    UID_MPEG2MainProfileAtHighLevelTransferSyntax,
    UID_MPEG4HighProfileLevel4_1TransferSyntax,
    UID_MPEG4BDcompatibleHighProfileLevel4_1TransferSyntax,
    UID_MPEG4HighProfileLevel4_2_For2DVideoTransferSyntax,
    UID_MPEG4HighProfileLevel4_2_For3DVideoTransferSyntax,
    UID_MPEG4StereoHighProfileLevel4_2TransferSyntax,
    UID_HEVCMainProfileLevel5_1TransferSyntax,
    UID_HEVCMain10ProfileLevel5_1TransferSyntax,
};

// Verification and Query/Retrieve: our order of preference.
const char *const kPlainTransferSyntaxes[] = {
    UID_LittleEndianExplicitTransferSyntax,
    UID_LittleEndianImplicitTransferSyntax,
    UID_BigEndianExplicitTransferSyntax,
};

// Storage SOP classes of patient objects added to the standard after DCMTK 3.6.7's table
// (PS3.4 B.5). Non-patient objects (hanging protocols, color palettes, implant templates,
// protocols, inventories) stay out, as in DCMTK's table: they carry no patient or study to index.
const char *const kNewerStorageSOPClasses[] = {
    "1.2.840.10008.5.1.4.1.1.6.3",     // Photoacoustic Image
    "1.2.840.10008.5.1.4.1.1.9.1.4",   // General 32-bit ECG Waveform
    "1.2.840.10008.5.1.4.1.1.9.100.1", // Waveform Presentation State
    "1.2.840.10008.5.1.4.1.1.9.100.2", // Waveform Acquisition Presentation State
    "1.2.840.10008.5.1.4.1.1.11.12",   // Variable Modality LUT Softcopy Presentation State
    "1.2.840.10008.5.1.4.1.1.66.7",    // Label Map Segmentation
    "1.2.840.10008.5.1.4.1.1.66.8",    // Height Map Segmentation
    "1.2.840.10008.5.1.4.1.1.77.1.8",  // Confocal Microscopy Image
    "1.2.840.10008.5.1.4.1.1.77.1.9",  // Confocal Microscopy Tiled Pyramidal Image
    "1.2.840.10008.5.1.4.1.1.88.77",   // Waveform Annotation SR
    "1.2.840.10008.5.1.4.1.1.481.23",  // Enhanced RT Image
    "1.2.840.10008.5.1.4.1.1.481.24",  // Enhanced Continuous RT Image
    "1.2.840.10008.5.1.4.1.1.481.25",  // RT Patient Position Acquisition Instruction
};

struct SopTables {
    std::unordered_set<std::string> storage;
    std::unordered_set<std::string> storageSyntaxes;
    SopTables() {
        for (int i = 0; i < numberOfDcmAllStorageSOPClassUIDs; ++i)
            if (dcmAllStorageSOPClassUIDs[i] != nullptr)
                storage.insert(dcmAllStorageSOPClassUIDs[i]);
        for (const char *uid : kNewerStorageSOPClasses)
            storage.insert(uid);
        for (const char *ts : kStorageTransferSyntaxes)
            storageSyntaxes.insert(ts);
    }
};

const SopTables &sopTables() {
    static const SopTables tables; // thread-safe initialisation (C++11 magic statics)
    return tables;
}

ServiceKind serviceKind(const char *abstractSyntax, char *model) {
    const std::string as(abstractSyntax);
    *model = 0;
    if (as == UID_VerificationSOPClass)
        return ServiceKind::verification;
    if (as == UID_FINDPatientRootQueryRetrieveInformationModel) { *model = 'P'; return ServiceKind::find; }
    if (as == UID_FINDStudyRootQueryRetrieveInformationModel) { *model = 'S'; return ServiceKind::find; }
    if (as == UID_MOVEPatientRootQueryRetrieveInformationModel) { *model = 'P'; return ServiceKind::move; }
    if (as == UID_MOVEStudyRootQueryRetrieveInformationModel) { *model = 'S'; return ServiceKind::move; }
    if (as == UID_GETPatientRootQueryRetrieveInformationModel) { *model = 'P'; return ServiceKind::get; }
    if (as == UID_GETStudyRootQueryRetrieveInformationModel) { *model = 'S'; return ServiceKind::get; }
    if (sopTables().storage.count(as) != 0)
        return ServiceKind::storage;
    return ServiceKind::none;
}

bool isWarningStatus(uint16_t status) {
    return status == 0x0001 || (status & 0xF000) == 0xB000;
}

void putErrorComment(DcmDataset *detail, const char *comment) {
    std::string text(comment != nullptr ? comment : "");
    if (text.size() > 64)
        text.resize(64);
    std::replace(text.begin(), text.end(), '\\', '/');
    detail->putAndInsertString(DCM_ErrorComment, text.c_str());
}

// A status detail with ErrorComment for non-success statuses, or nullptr.
std::unique_ptr<DcmDataset> statusDetail(uint16_t status, const char comment[65]) {
    if (status == 0x0000 || comment == nullptr || comment[0] == '\0')
        return nullptr;
    std::unique_ptr<DcmDataset> detail(new DcmDataset());
    char copy[65];
    std::memcpy(copy, comment, 64);
    copy[64] = '\0';
    putErrorComment(detail.get(), copy);
    return detail;
}

} // namespace

// ---------------------------------------------------------------------------------------------
// Handles of cdcm_net.h

struct cdcm_retrieve_file {
    std::string path;
    std::string sopClass;
    std::string sopInstance;
    std::string transferSyntax;
};

struct cdcm_retrieve_request {
    std::vector<cdcm_retrieve_file> files;
};

namespace {

struct ServerConfig {
    std::string aeTitle;
    std::string bindAddress;
    std::string temporaryFolder;
    uint32_t maxReceivePDU = 0;
    uint32_t acseTimeout = 0;
    uint32_t dimseTimeout = 0;
    uint32_t maxAssociations = 0;
    uint32_t shutdownGraceSeconds = 0;
    bool tls = false; // the acceptor network has the TLS transport layer
    void *context = nullptr;
    cdcm_association_callback onAssociation = nullptr;
    cdcm_association_end_callback onAssociationEnd = nullptr;
    cdcm_echo_callback onEcho = nullptr;
    cdcm_store_callback onStore = nullptr;
    cdcm_store_refused_callback onStoreRefused = nullptr;
    cdcm_find_callback onFind = nullptr;
    cdcm_retrieve_callback onMove = nullptr;
    cdcm_retrieve_callback onGet = nullptr;
    cdcm_connection_dropped_callback onConnectionDropped = nullptr;
};

std::atomic<uint64_t> gNextAssociationId{1};

} // namespace

struct cdcm_scp {
    ServerConfig config;
    DcmSharedSCPConfig sharedConfig;
    T_ASC_Network *network = nullptr;
    std::unique_ptr<DcmTransportLayer> transportLayer; // TLS or gathering TCP; used by network, outlives it
    uint16_t port = 0;
    std::atomic<bool> stopRequested{false};
    std::atomic<bool> running{false};
    std::atomic<uint64_t> fileCounter{0};

    std::mutex mutex;
    std::condition_variable idle;
    size_t active = 0;                       // connection threads, waiting or serving (guarded by mutex)
    size_t serving = 0;                      // associations established and served (guarded by mutex)
    std::map<uint64_t, std::thread> threads; // guarded by mutex
    std::map<uint64_t, int> sockets;         // of associations being served, to end them after the
                                             // shutdown grace (guarded by mutex)
    std::atomic<uint32_t> abortedAtStop{0};
    std::vector<uint64_t> finished;          // ids of threads that can be joined (guarded by mutex)

    ~cdcm_scp() {
        if (network != nullptr)
            ASC_dropNetwork(&network); // before transportLayer, a member, is destroyed
    }
};

namespace {

class AssociationWorker;
class CorkedSends;

} // namespace

struct cdcm_find_responder {
    AssociationWorker *worker = nullptr;
    const CorkedSends *corked = nullptr;
    uint32_t sent = 0;
    T_ASC_Association *assoc = nullptr;
    T_ASC_PresentationContextID presID = 0;
    T_DIMSE_C_FindRQ *request = nullptr;
    bool cancelled = false;
    bool failed = false;
};

namespace {

// ---------------------------------------------------------------------------------------------
// Sub-operations (C-STORE as SCU, for C-MOVE and C-GET)

struct SubOpCounts {
    uint32_t remaining = 0;
    uint32_t completed = 0;
    uint32_t failed = 0;
    uint32_t warning = 0;
    std::vector<std::string> failedUIDs;
};

Uint16 clamp16(uint32_t value) { return static_cast<Uint16>(std::min<uint32_t>(value, 0xFFFFu)); }

// An accepted presentation context of `assoc` to send `sopClass` in: the stored transfer syntax
// if accepted, else Explicit, else Implicit VR Little Endian (then *convert is set). With
// requireRequestorSCP (C-GET), only contexts where the requestor took the SCP role qualify.
T_ASC_PresentationContextID choosePresentationContext(T_ASC_Association *assoc, const std::string &sopClass,
                                                      const std::string &storedSyntax, bool requireRequestorSCP,
                                                      std::string *acceptedSyntax) {
    const int count = ASC_countPresentationContexts(assoc->params);
    T_ASC_PresentationContextID exact = 0, explicitLE = 0, implicitLE = 0;
    std::unique_ptr<T_ASC_PresentationContext> pc(new T_ASC_PresentationContext());
    for (int i = 0; i < count; ++i) {
        if (ASC_getPresentationContext(assoc->params, i, pc.get()).bad())
            continue;
        if (pc->resultReason != ASC_P_ACCEPTANCE || sopClass != pc->abstractSyntax)
            continue;
        if (requireRequestorSCP && pc->acceptedRole != ASC_SC_ROLE_SCP && pc->acceptedRole != ASC_SC_ROLE_SCUSCP)
            continue;
        const std::string ts(pc->acceptedTransferSyntax);
        if (ts == storedSyntax && exact == 0)
            exact = pc->presentationContextID;
        if (ts == UID_LittleEndianExplicitTransferSyntax && explicitLE == 0)
            explicitLE = pc->presentationContextID;
        if (ts == UID_LittleEndianImplicitTransferSyntax && implicitLE == 0)
            implicitLE = pc->presentationContextID;
    }
    if (exact != 0) {
        *acceptedSyntax = storedSyntax;
        return exact;
    }
    if (explicitLE != 0) {
        *acceptedSyntax = UID_LittleEndianExplicitTransferSyntax;
        return explicitLE;
    }
    if (implicitLE != 0) {
        *acceptedSyntax = UID_LittleEndianImplicitTransferSyntax;
        return implicitLE;
    }
    return 0;
}

enum class SubOpOutcome { completed, warning, failed };

// Sends one stored file with C-STORE over `assoc`. *associationLost is set when the association
// can no longer be used (network error, abort, timeout).
SubOpOutcome sendStoredFile(T_ASC_Association *assoc, const cdcm_retrieve_file &file, bool requireRequestorSCP,
                            const char *moveOriginatorAE, Uint16 moveOriginatorID, uint32_t dimseTimeout,
                            T_DIMSE_DetectedCancelParameters *cancel, bool *associationLost) {
    // The transfer syntax actually in the file's meta header decides whether its bytes can be sent as
    // they are; the callback's value is only a fallback for files without meta information.
    std::string storedSyntax = file.transferSyntax;
    bool hasMeta = false;
    {
        DcmFileFormat meta;
        if (meta.loadFile(file.path.c_str(), EXS_Unknown, EGL_noChange, DCM_MaxReadLength, ERM_metaOnly).good()) {
            OFString ts;
            if (meta.getMetaInfo()->findAndGetOFString(DCM_TransferSyntaxUID, ts).good() && !ts.empty()) {
                storedSyntax = ts.c_str();
                hasMeta = true;
            }
        } else {
            return SubOpOutcome::failed; // file missing or unreadable
        }
    }
    std::string acceptedSyntax;
    const T_ASC_PresentationContextID presID =
        choosePresentationContext(assoc, file.sopClass, storedSyntax, requireRequestorSCP, &acceptedSyntax);
    if (presID == 0)
        return SubOpOutcome::failed;

    T_DIMSE_C_StoreRQ request;
    std::memset(&request, 0, sizeof(request));
    request.MessageID = assoc->nextMsgID++;
    OFStandard::strlcpy(request.AffectedSOPClassUID, file.sopClass.c_str(), sizeof(request.AffectedSOPClassUID));
    OFStandard::strlcpy(request.AffectedSOPInstanceUID, file.sopInstance.c_str(),
                        sizeof(request.AffectedSOPInstanceUID));
    request.DataSetType = DIMSE_DATASET_PRESENT;
    request.Priority = DIMSE_PRIORITY_MEDIUM;
    if (moveOriginatorAE != nullptr) {
        OFStandard::strlcpy(request.MoveOriginatorApplicationEntityTitle, moveOriginatorAE,
                            sizeof(request.MoveOriginatorApplicationEntityTitle));
        request.MoveOriginatorID = moveOriginatorID;
        request.opts = O_STORE_MOVEORIGINATORAETITLE | O_STORE_MOVEORIGINATORID;
    }

    T_DIMSE_C_StoreRSP response;
    std::memset(&response, 0, sizeof(response));
    DcmDataset *detail = nullptr;
    OFCondition cond;
    if (hasMeta && acceptedSyntax == storedSyntax) {
        // Bit-preserving: DCMTK streams the dataset bytes that follow the file's meta header.
        cond = DIMSE_storeUser(assoc, presID, &request, file.path.c_str(), nullptr, nullptr, nullptr,
                               DIMSE_NONBLOCKING, static_cast<int>(dimseTimeout), &response, &detail, cancel);
    } else {
        DcmFileFormat whole;
        if (whole.loadFile(file.path.c_str()).bad())
            return SubOpOutcome::failed;
        DcmDataset *dataset = whole.getDataset();
        const E_TransferSyntax target = DcmXfer(acceptedSyntax.c_str()).getXfer();
        if (acceptedSyntax != storedSyntax) {
            // JPEG 2000 / HTJ2K through OpenJPEG; the others with the decoders cdcm_initialize
            // registered (JPEG, JPEG-LS, RLE).
            std::string problem;
            if (!cdcm_detail::decodeJpeg2000IfEncapsulated(whole, &problem))
                return SubOpOutcome::failed;
            if (dataset->chooseRepresentation(target, nullptr).bad() || !dataset->canWriteXfer(target))
                return SubOpOutcome::failed;
        }
        cond = DIMSE_storeUser(assoc, presID, &request, nullptr, dataset, nullptr, nullptr, DIMSE_NONBLOCKING,
                               static_cast<int>(dimseTimeout), &response, &detail, cancel);
    }
    delete detail;
    if (cond.bad()) {
        *associationLost = true;
        return SubOpOutcome::failed;
    }
    if (response.DimseStatus == STATUS_Success)
        return SubOpOutcome::completed;
    if (isWarningStatus(response.DimseStatus))
        return SubOpOutcome::warning;
    return SubOpOutcome::failed;
}

// The C-MOVE sub-association to the move destination.
class MoveDestinationAssociation {
public:
    ~MoveDestinationAssociation() { close(); }

    // Opens the association; "" on success, else the reason.
    std::string open(const ServerConfig &config, const std::string &calledAE, const cdcm_move_destination &destination,
                     const std::vector<cdcm_retrieve_file> &files) {
        OFCondition cond = ASC_initializeNetwork(NET_REQUESTOR, 0, static_cast<int>(config.acseTimeout), &network_);
        if (cond.bad())
            return std::string("cannot initialise the network: ") + cond.text();
        T_ASC_Parameters *params = nullptr;
        cond = ASC_createAssociationParameters(&params, static_cast<long>(config.maxReceivePDU));
        if (cond.bad())
            return std::string("cannot create association parameters: ") + cond.text();
        char hostName[256];
        if (gethostname(hostName, sizeof(hostName)) != 0)
            std::snprintf(hostName, sizeof(hostName), "localhost");
        hostName[sizeof(hostName) - 1] = '\0';
        char peer[300];
        std::snprintf(peer, sizeof(peer), "%s:%u", destination.host, static_cast<unsigned>(destination.port));
        ASC_setAPTitles(params, config.aeTitle.c_str(), calledAE.c_str(), nullptr);
        ASC_setPresentationAddresses(params, hostName, peer);

        // One context per (SOP class, stored transfer syntax), then one [Explicit LE, Implicit LE]
        // context per SOP class for instances that must be converted. At most 128 contexts.
        std::vector<std::pair<std::string, std::string>> exact;
        std::vector<std::string> classes;
        std::set<std::pair<std::string, std::string>> seenExact;
        std::set<std::string> seenClass;
        for (const cdcm_retrieve_file &f : files) {
            if (seenExact.insert(std::make_pair(f.sopClass, f.transferSyntax)).second && !f.transferSyntax.empty())
                exact.push_back(std::make_pair(f.sopClass, f.transferSyntax));
            if (seenClass.insert(f.sopClass).second)
                classes.push_back(f.sopClass);
        }
        int presID = 1;
        bool ok = true;
        for (const auto &entry : exact) {
            if (presID > 255)
                break;
            const char *ts[] = {entry.second.c_str()};
            ok = ok && ASC_addPresentationContext(params, static_cast<T_ASC_PresentationContextID>(presID),
                                                  entry.first.c_str(), ts, 1).good();
            presID += 2;
        }
        for (const std::string &sopClass : classes) {
            if (presID > 255)
                break;
            const char *ts[] = {UID_LittleEndianExplicitTransferSyntax, UID_LittleEndianImplicitTransferSyntax};
            ok = ok && ASC_addPresentationContext(params, static_cast<T_ASC_PresentationContextID>(presID),
                                                  sopClass.c_str(), ts, 2).good();
            presID += 2;
        }
        if (!ok) {
            ASC_destroyAssociationParameters(&params);
            return "cannot add presentation contexts";
        }
        cond = ASC_requestAssociation(network_, params, &assoc_);
        if (cond.bad()) {
            std::string reason = std::string("move destination: ") + cond.text();
            if (cond == DUL_ASSOCIATIONREJECTED) {
                T_ASC_RejectParameters rej;
                if (ASC_getRejectParameters(params, &rej).good()) {
                    char text[96];
                    std::snprintf(text, sizeof(text), " (result %d, source %d, reason %d)", static_cast<int>(rej.result),
                                  static_cast<int>(rej.source), static_cast<int>(rej.reason & 0xFF));
                    reason += text;
                }
            }
            if (assoc_ != nullptr) {
                ASC_dropAssociation(assoc_);
                ASC_destroyAssociation(&assoc_); // also frees params
            } else {
                ASC_destroyAssociationParameters(&params);
            }
            return reason;
        }
        if (ASC_countAcceptedPresentationContexts(assoc_->params) == 0)
            return "the move destination accepted no presentation context";
        return std::string();
    }

    T_ASC_Association *association() { return assoc_; }

    void close(bool abort = false) {
        if (assoc_ != nullptr) {
            if (abort || ASC_releaseAssociation(assoc_).bad())
                ASC_abortAssociation(assoc_);
            ASC_dropAssociation(assoc_);
            ASC_destroyAssociation(&assoc_);
        }
        if (network_ != nullptr)
            ASC_dropNetwork(&network_);
    }

private:
    T_ASC_Network *network_ = nullptr;
    T_ASC_Association *assoc_ = nullptr;
};

// ---------------------------------------------------------------------------------------------
// The per-association SCP

// DcmTransportConnection::getSocket() is protected; a pointer to it taken through a derived class
// is the standard way to call it (the class is never instantiated).
struct TransportSocketAccess : DcmTransportConnection {
    static DcmNativeSocketType socketOf(DcmTransportConnection *connection) {
        DcmNativeSocketType (DcmTransportConnection::*getter)() = &TransportSocketAccess::getSocket;
        return (connection->*getter)();
    }
};

// DCMTK writes each PDU with two send() calls (the PDU and item headers, then the fragment): a
// C-FIND match was four system calls, and with TCP_NODELAY four segments that each woke the peer.
// Around the messages we send (CorkedSends), the plain port's connections gather DCMTK's writes in
// memory and send them with one call when the guard ends, when 64 KB have gathered, or before
// anything waits for the peer. Outside a guard a write goes out at once, as DCMTK's own does.
class GatheringTCPConnection final : public DcmTCPConnection {
public:
    explicit GatheringTCPConnection(DcmNativeSocketType openSocket) : DcmTCPConnection(openSocket) {}
    ~GatheringTCPConnection() override { (void)flush(); } // (DcmTCPConnection's destructor closes)

    void hold() { ++held_; }
    void release() {
        if (held_ > 0 && --held_ == 0)
            (void)flush();
    }

    // Sends what has gathered. false: the connection failed (the next read or write says so).
    bool flush() {
        size_t sent = 0;
        while (!failed_ && sent < pending_.size()) {
            const ssize_t n = ::send(getSocket(), pending_.data() + sent, pending_.size() - sent, MSG_NOSIGNAL);
            if (n > 0)
                sent += static_cast<size_t>(n);
            else if (n < 0 && errno == EINTR)
                continue;
            else
                failed_ = true;
        }
        pending_.clear();
        return !failed_;
    }

    ssize_t write(void *buf, size_t nbyte) override {
        if (held_ == 0 && pending_.empty())
            return DcmTCPConnection::write(buf, nbyte);
        if (failed_)
            return -1;
        const char *bytes = static_cast<const char *>(buf);
        pending_.insert(pending_.end(), bytes, bytes + nbyte);
        if ((held_ == 0 || pending_.size() >= gatherLimit) && !flush())
            return -1;
        return static_cast<ssize_t>(nbyte);
    }
    ssize_t read(void *buf, size_t nbyte) override {
        if (!flush())
            return -1;
        return DcmTCPConnection::read(buf, nbyte);
    }
    // A look without waiting (a C-CANCEL poll between matches) leaves the gathered bytes; a
    // wait sends them first, or the peer could be waiting for them.
    OFBool networkDataAvailable(int timeout) override {
        if (timeout != 0 && !flush())
            return OFTrue; // the read that follows fails
        return DcmTCPConnection::networkDataAvailable(timeout);
    }
    void close() override {
        (void)flush();
        DcmTCPConnection::close();
    }
    void closeTransportConnection() override {
        (void)flush();
        DcmTCPConnection::closeTransportConnection();
    }

private:
    static constexpr size_t gatherLimit = 64 * 1024;
    std::vector<char> pending_;
    int held_ = 0;
    bool failed_ = false;
};

// The plain port's transport layer: DCMTK's TCP connections, gathering (above).
class GatheringTransportLayer final : public DcmTransportLayer {
public:
    DcmTransportConnection *createConnection(DcmNativeSocketType openSocket, OFBool useSecureLayer) override {
        if (useSecureLayer)
            return nullptr; // (the TLS port has its own layer)
        return new GatheringTCPConnection(openSocket);
    }
};

// While this guard lives, what DCMTK sends on the association gathers (plain port) or the socket
// is corked (TLS port, whose writes are records of the TLS layer): messages leave in full
// segments, the rest when the guard ends. Only around messages that are complete before the guard
// ends (never around a send that waits for the peer's answer).
class CorkedSends {
public:
    explicit CorkedSends(T_ASC_Association *assoc) {
        DcmTransportConnection *connection = DUL_getTransportConnection(assoc->DULassociation);
        gathering_ = dynamic_cast<GatheringTCPConnection *>(connection);
        if (gathering_ != nullptr) {
            gathering_->hold();
            return;
        }
        if (connection != nullptr)
            fd_ = static_cast<int>(TransportSocketAccess::socketOf(connection));
        set(1);
    }
    ~CorkedSends() {
        if (gathering_ != nullptr)
            gathering_->release();
        else
            set(0);
    }
    // Sends what is queued now and goes on gathering.
    void flush() const {
        if (gathering_ != nullptr) {
            (void)gathering_->flush();
            return;
        }
        set(0);
        set(1);
    }
    CorkedSends(const CorkedSends &) = delete;
    CorkedSends &operator=(const CorkedSends &) = delete;

private:
    void set(int on) const {
#ifdef TCP_CORK
        if (fd_ >= 0)
            (void)::setsockopt(fd_, IPPROTO_TCP, TCP_CORK, &on, sizeof(on));
#else
        (void)on;
#endif
    }
    GatheringTCPConnection *gathering_ = nullptr;
    int fd_ = -1;
};

class AssociationWorker final : public DcmThreadSCP {
public:
    AssociationWorker(cdcm_scp &server, uint64_t id, T_ASC_Association *assoc, std::string callingAE)
        : server_(server), config_(server.config), id_(id), assoc_(assoc), callingAE_(std::move(callingAE)) {}

    // Serves the association (A-ASSOCIATE-AC or -RJ, then DIMSE until release/abort/timeout).
    // The association is dropped and destroyed by DcmSCP's destructor.
    OFCondition serve() { return run(assoc_); }
    bool released() const { return released_; }
    bool acknowledged() const { return acknowledged_; }

protected:
    OFCondition negotiateAssociation() override;
    OFCondition handleIncomingCommand(T_DIMSE_Message *message, const DcmPresentationContextInfo &info) override;
    void notifyAssociationAcknowledge() override { acknowledged_ = true; }
    void notifyReleaseRequest() override { released_ = true; }
    void notifyAbortRequest() override {}
    void notifyDIMSEError(const OFCondition &) override {}
    void notifyAssociationRequest(const T_ASC_Parameters &, DcmSCPActionType &) override {}
    void notifyAssociationTermination() override {}

private:
    OFCondition handleEcho(T_DIMSE_C_EchoRQ &request, T_ASC_PresentationContextID presID);
    OFCondition handleStore(T_DIMSE_C_StoreRQ &request, T_ASC_PresentationContextID presID,
                            const DcmPresentationContextInfo &info);
    OFCondition handleFind(T_DIMSE_C_FindRQ &request, T_ASC_PresentationContextID presID,
                           const DcmPresentationContextInfo &info);
    OFCondition handleRetrieve(T_DIMSE_Message *message, T_ASC_PresentationContextID presID,
                               const DcmPresentationContextInfo &info);
    OFCondition receiveIdentifier(T_ASC_PresentationContextID presID, DcmDataset **identifier);
    std::unique_ptr<cdcm_dataset> wrapIdentifier(DcmDataset *identifier, const DcmPresentationContextInfo &info);
    std::string newTemporaryFile();
    /// Reads the data set of a C-STORE and drops it.
    OFCondition skipDataSet();
    /// Receives the data set of a C-STORE into the new file `path`. A bad condition: the
    /// association is out of step. A good one with `failure` set: the data set was read to its
    /// end but could not be written (the reason, for the error comment).
    OFCondition receiveToFile(const T_DIMSE_C_StoreRQ &request, T_ASC_PresentationContextID presID,
                              const DcmPresentationContextInfo &info, const std::string &path, std::string *failure);

    cdcm_scp &server_;
    const ServerConfig &config_;
    uint64_t id_;
    T_ASC_Association *assoc_;
    std::string callingAE_;
    bool released_ = false;
    bool acknowledged_ = false;
    bool fuzzyNames_[2] = {false, false}; // fuzzy person name matching agreed: Patient Root, Study Root FIND

    /// Answers the requestor's C-FIND extended negotiation (PS3.4 C.5.1.1.1).
    void answerExtendedNegotiation(T_ASC_Parameters *params);
};

OFCondition AssociationWorker::negotiateAssociation() {
    T_ASC_Parameters *params = assoc_->params;
    const int count = ASC_countPresentationContexts(params);
    std::unique_ptr<T_ASC_PresentationContext> pc(new T_ASC_PresentationContext());
    for (int i = 0; i < count; ++i) {
        OFCondition cond = ASC_getPresentationContext(params, i, pc.get());
        if (cond.bad())
            return cond;
        char model = 0;
        const ServiceKind kind = serviceKind(pc->abstractSyntax, &model);
        bool offered = false;
        T_ASC_SC_ROLE role = ASC_SC_ROLE_DEFAULT;
        switch (kind) {
        case ServiceKind::verification: offered = true; break;
        case ServiceKind::find: offered = config_.onFind != nullptr; break;
        case ServiceKind::move: offered = config_.onMove != nullptr; break;
        case ServiceKind::get: offered = config_.onGet != nullptr; break;
        case ServiceKind::storage:
            // We are the storage SCP for C-STORE (requestor in SCU/default role) and the storage SCU
            // for C-GET sub-operations (requestor proposes the SCP role). See dul.h's role table.
            offered = config_.onStore != nullptr || config_.onGet != nullptr;
            role = config_.onStore != nullptr ? (config_.onGet != nullptr ? ASC_SC_ROLE_SCUSCP : ASC_SC_ROLE_DEFAULT)
                                              : ASC_SC_ROLE_SCP;
            break;
        case ServiceKind::none: break;
        }
        if (!offered) {
            cond = ASC_refusePresentationContext(params, pc->presentationContextID, ASC_P_ABSTRACTSYNTAXNOTSUPPORTED);
            if (cond.bad())
                return cond;
            continue;
        }
        // Storage sent to us: the requestor's first proposed syntax that we support (it knows what
        // it holds). Storage we may send (C-GET: the requestor proposed the SCP role) and the other
        // services: uncompressed first (explicit, implicit, big endian), because any stored instance
        // the shim can decode can be sent in it; the requestor's order for the rest.
        const bool weMaySend = kind == ServiceKind::storage && config_.onGet != nullptr &&
                               (pc->proposedRole == ASC_SC_ROLE_SCP || pc->proposedRole == ASC_SC_ROLE_SCUSCP);
        const char *chosen = nullptr;
        if (kind != ServiceKind::storage || weMaySend) {
            for (const char *ts : kPlainTransferSyntaxes)
                for (int k = 0; k < pc->transferSyntaxCount && chosen == nullptr; ++k)
                    if (std::strcmp(ts, pc->proposedTransferSyntaxes[k]) == 0)
                        chosen = ts;
        }
        if (kind == ServiceKind::storage && chosen == nullptr) {
            for (int k = 0; k < pc->transferSyntaxCount && chosen == nullptr; ++k)
                if (sopTables().storageSyntaxes.count(pc->proposedTransferSyntaxes[k]) != 0)
                    chosen = pc->proposedTransferSyntaxes[k];
        }
        if (chosen == nullptr) {
            cond = ASC_refusePresentationContext(params, pc->presentationContextID, ASC_P_TRANSFERSYNTAXESNOTSUPPORTED);
            if (cond.bad())
                return cond;
            continue;
        }
        const std::string chosenCopy(chosen); // chosen may point into *pc
        cond = ASC_acceptPresentationContext(params, pc->presentationContextID, chosenCopy.c_str(), role);
        if (cond.bad()) {
            // e.g. a default-role proposal when only the SCP role can be offered
            cond = ASC_refusePresentationContext(params, pc->presentationContextID, ASC_P_NOREASON);
            if (cond.bad())
                return cond;
        }
    }
    answerExtendedNegotiation(params);
    return EC_Normal;
}

// Each C-FIND SOP Class Extended Negotiation sub-item is answered with as many bytes as it had (at
// most the five PS3.4 defines), all 0 but byte 3, fuzzy semantic matching of person names, which is
// 1 when asked for: names then match ignoring case and diacritics too. DCMTK frees the list with
// the association parameters.
void AssociationWorker::answerExtendedNegotiation(T_ASC_Parameters *params) {
    SOPClassExtendedNegotiationSubItemList *requested = nullptr;
    ASC_getRequestedExtNegList(params, &requested);
    if (requested == nullptr || config_.onFind == nullptr)
        return;
    std::unique_ptr<SOPClassExtendedNegotiationSubItemList> accepted(new SOPClassExtendedNegotiationSubItemList());
    for (OFListIterator(SOPClassExtendedNegotiationSubItem *) it = requested->begin(); it != requested->end(); ++it) {
        const SOPClassExtendedNegotiationSubItem *item = *it;
        char model = 0;
        if (item == nullptr || item->serviceClassAppInfo == nullptr ||
            serviceKind(item->sopClassUID.c_str(), &model) != ServiceKind::find)
            continue;
        const unsigned short length = std::min<unsigned short>(item->serviceClassAppInfoLength, 5);
        if (length == 0)
            continue;
        const bool fuzzy = length >= 3 && item->serviceClassAppInfo[2] == 1;
        std::unique_ptr<SOPClassExtendedNegotiationSubItem> answer(new SOPClassExtendedNegotiationSubItem());
        answer->sopClassUID = item->sopClassUID;
        answer->sopClassUIDLength = static_cast<unsigned short>(item->sopClassUID.length());
        answer->serviceClassAppInfo = new unsigned char[length]();
        answer->serviceClassAppInfoLength = length;
        answer->itemLength = static_cast<unsigned short>(2 + answer->sopClassUIDLength + length);
        if (fuzzy) {
            answer->serviceClassAppInfo[2] = 1;
            fuzzyNames_[model == 'P' ? 0 : 1] = true;
        }
        accepted->push_back(answer.release());
    }
    if (!accepted->empty())
        ASC_setAcceptedExtNegList(params, accepted.release());
}

OFCondition AssociationWorker::handleIncomingCommand(T_DIMSE_Message *message, const DcmPresentationContextInfo &info) {
    const T_ASC_PresentationContextID presID = info.presentationContextID;
    switch (message->CommandField) {
    case DIMSE_C_ECHO_RQ:
        return handleEcho(message->msg.CEchoRQ, presID);
    case DIMSE_C_STORE_RQ:
        return handleStore(message->msg.CStoreRQ, presID, info);
    case DIMSE_C_FIND_RQ:
        return handleFind(message->msg.CFindRQ, presID, info);
    case DIMSE_C_MOVE_RQ:
    case DIMSE_C_GET_RQ:
        return handleRetrieve(message, presID, info);
    case DIMSE_C_CANCEL_RQ:
        return EC_Normal; // a C-CANCEL that arrived after the final response: nothing left to cancel
    default:
        return DIMSE_BADCOMMANDTYPE; // DcmSCP then aborts the association
    }
}

OFCondition AssociationWorker::handleEcho(T_DIMSE_C_EchoRQ &request, T_ASC_PresentationContextID presID) {
    const uint16_t status = config_.onEcho != nullptr ? config_.onEcho(config_.context, id_) : STATUS_Success;
    CorkedSends corked(assoc_);
    return DIMSE_sendEchoResponse(assoc_, presID, &request, status, nullptr);
}

std::string AssociationWorker::newTemporaryFile() {
    // The folder is this process's own (FileStore's session folder), and the name holds the
    // association id and a process-wide counter: no other file has it.
    char name[128];
    std::snprintf(name, sizeof(name), "/cdcm-store-%ld-%llu-%llu.dcm.part", static_cast<long>(getpid()),
                  static_cast<unsigned long long>(id_),
                  static_cast<unsigned long long>(server_.fileCounter.fetch_add(1)));
    return config_.temporaryFolder + name;
}

namespace {

/// Where a received data set goes: to a file descriptor with write(2), through a buffer (DCMTK
/// hands the meta header over element by element and the data set PDV by PDV: unbuffered, that
/// was some 40 system calls for a small instance). Large pieces bypass the buffer. A failed
/// write (a full disk) is noted, not reported to DCMTK: DIMSE_receiveDataSetInFile then reads
/// the data set to its end as usual. (On a failed write DCMTK itself calls DIMSE_ignoreDataSet,
/// which, when the failing fragment was the last one, waits for more until the DIMSE timeout and
/// the association is aborted.) The caller calls `finish` and answers with the noted errno.
class ReceivedFileConsumer final : public DcmConsumer {
public:
    explicit ReceivedFileConsumer(int fd) : fd_(fd) { buffer_.reserve(capacity); }
    OFBool good() const override { return OFTrue; }
    OFCondition status() const override { return EC_Normal; }
    OFBool isFlushed() const override { return buffer_.empty(); }
    offile_off_t avail() const override { return static_cast<offile_off_t>(INT_MAX); }
    offile_off_t write(const void *buf, offile_off_t length) override {
        const size_t n = static_cast<size_t>(length);
        if (n >= capacity / 2 || buffer_.size() + n > capacity)
            flush(); // what came before goes first
        if (n >= capacity / 2) {
            writeAll(static_cast<const char *>(buf), n);
        } else {
            const char *p = static_cast<const char *>(buf);
            buffer_.insert(buffer_.end(), p, p + n);
        }
        return length;
    }
    /// Writes what is buffered (after a failure, drops it: the file is refused anyway).
    void flush() override {
        if (!buffer_.empty())
            writeAll(buffer_.data(), buffer_.size());
        buffer_.clear();
    }
    /// Everything written (or the failure noted): call before closing the descriptor.
    int finish() {
        flush();
        return failure_;
    }

private:
    static constexpr size_t capacity = 64 * 1024;  // below malloc's mmap threshold

    void writeAll(const char *p, size_t left) {
        while (failure_ == 0 && left > 0) {
            const ssize_t n = ::write(fd_, p, left);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                failure_ = n < 0 ? errno : EIO;
                break;
            }
            p += n;
            left -= static_cast<size_t>(n);
        }
    }

    int fd_;
    int failure_ = 0;
    std::vector<char> buffer_;
};

class ReceivedFileStream final : public DcmOutputStream {
public:
    explicit ReceivedFileStream(int fd) : DcmOutputStream(&consumer_), consumer_(fd) {}
    /// Writes out what DCMTK's stream and the consumer still hold; the errno of a failure, or 0.
    int finish() {
        flush();
        return consumer_.finish();
    }

private:
    ReceivedFileConsumer consumer_;
};

/// The file meta information DCMTK's storescp writes in front of a received data set (PS3.10
/// 7.1), with the calling AE title as SourceApplicationEntityTitle.
OFCondition writeMetaHeader(DcmOutputStream &stream, const T_DIMSE_C_StoreRQ &request, const char *transferSyntax,
                            const char *callingAE) {
    DcmMetaInfo meta;
    const Uint8 version[2] = {0, 1};
    OFCondition cond = meta.putAndInsertUint8Array(DCM_FileMetaInformationVersion, version, 2);
    if (cond.good()) cond = meta.putAndInsertString(DCM_MediaStorageSOPClassUID, request.AffectedSOPClassUID);
    if (cond.good()) cond = meta.putAndInsertString(DCM_MediaStorageSOPInstanceUID, request.AffectedSOPInstanceUID);
    if (cond.good()) cond = meta.putAndInsertString(DCM_TransferSyntaxUID, transferSyntax);
    if (cond.good()) cond = meta.putAndInsertString(DCM_ImplementationClassUID, OFFIS_IMPLEMENTATION_CLASS_UID);
    if (cond.good()) cond = meta.putAndInsertString(DCM_ImplementationVersionName, OFFIS_DTK_IMPLEMENTATION_VERSION_NAME2);
    if (cond.good()) cond = meta.putAndInsertString(DCM_SourceApplicationEntityTitle, callingAE);
    if (cond.good())
        cond = meta.computeGroupLengthAndPadding(EGL_withGL, EPD_noChange, META_HEADER_DEFAULT_TRANSFERSYNTAX,
                                                 EET_UndefinedLength);
    if (cond.bad())
        return cond;
    meta.transferInit();
    cond = meta.write(stream, META_HEADER_DEFAULT_TRANSFERSYNTAX, EET_ExplicitLength, nullptr);
    meta.transferEnd();
    return cond;
}

std::string writeFailureText(int failure) {
    if (failure == ENOSPC || failure == EDQUOT)
        return "no space left on the store's disk";
    return "cannot write the received data set: " + errnoText(failure);
}

} // namespace

OFCondition AssociationWorker::skipDataSet() {
    DIC_UL bytes = 0, pdvs = 0;
    return DIMSE_ignoreDataSet(assoc_, DIMSE_NONBLOCKING, static_cast<int>(config_.dimseTimeout), &bytes, &pdvs);
}

OFCondition AssociationWorker::receiveToFile(const T_DIMSE_C_StoreRQ &request, T_ASC_PresentationContextID presID,
                                             const DcmPresentationContextInfo &info, const std::string &path,
                                             std::string *failure) {
    // The data set is written as received (bit-preserving) behind a meta header whose
    // SourceApplicationEntityTitle is the calling AE.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        *failure = "cannot create a temporary file: " + errnoText(errno);
        return skipDataSet();
    }
    ReceivedFileStream stream(fd);
    OFCondition cond = writeMetaHeader(stream, request, info.acceptedTransferSyntax.c_str(), callingAE_.c_str());
    if (cond.good()) {
        T_ASC_PresentationContextID dataPresID = presID;
        cond = DIMSE_receiveDataSetInFile(assoc_, DIMSE_NONBLOCKING, static_cast<int>(config_.dimseTimeout), &dataPresID,
                                          &stream, nullptr, nullptr);
        if (cond.good() && dataPresID != presID)
            cond = DIMSE_BADMESSAGE; // command and data set on different contexts
    }
    if (const int failed = stream.finish(); failed != 0)
        *failure = writeFailureText(failed);
    if (::close(fd) != 0 && failure->empty())
        *failure = writeFailureText(errno);
    return cond;
}

OFCondition AssociationWorker::handleStore(T_DIMSE_C_StoreRQ &request, T_ASC_PresentationContextID presID,
                                           const DcmPresentationContextInfo &info) {
    char model = 0;
    const bool storageContext = serviceKind(info.abstractSyntax.c_str(), &model) == ServiceKind::storage;
    uint16_t status = STATUS_Success;
    char comment[65] = {0};
    if (request.DataSetType == DIMSE_DATASET_NULL)
        return DIMSE_BADMESSAGE; // a C-STORE without data set: protocol violation, abort
    std::string path;
    if (!storageContext || config_.onStore == nullptr) {
        status = STATUS_STORE_Refused_SOPClassNotSupported;
    } else {
        path = newTemporaryFile();
    }
    std::string failure;
    const OFCondition cond = path.empty() ? skipDataSet() : receiveToFile(request, presID, info, path, &failure);
    if (cond.bad()) {
        if (!path.empty())
            ::unlink(path.c_str()); // aborted or incomplete transfer: no callback, no file left
        return cond;                // the association is out of step: DcmSCP aborts it
    }
    if (!failure.empty()) {
        // Received to its end but not written whole: answer, and the association goes on.
        ::unlink(path.c_str());
        status = STATUS_STORE_Refused_OutOfResources;
        std::snprintf(comment, sizeof(comment), "%s", failure.c_str());
        path.clear();
    }
    if (!path.empty()) {
        const char *transferSyntax = info.acceptedTransferSyntax.c_str();
        status = config_.onStore(config_.context, id_, path.c_str(), request.AffectedSOPClassUID,
                                 request.AffectedSOPInstanceUID, transferSyntax, comment);
        comment[64] = '\0';
        // The callback moved or deleted it: removed here only if still there. (An unlink,
        // even of nothing, takes tmp/'s lock against the other associations' creates and
        // renames; access() looks the name up without it.)
        if (::access(path.c_str(), F_OK) == 0)
            ::unlink(path.c_str());
    } else if (config_.onStoreRefused != nullptr) {
        config_.onStoreRefused(config_.context, id_, request.AffectedSOPInstanceUID, status, comment);
    }
    T_DIMSE_C_StoreRSP response;
    std::memset(&response, 0, sizeof(response));
    response.MessageIDBeingRespondedTo = request.MessageID;
    response.DimseStatus = status;
    response.DataSetType = DIMSE_DATASET_NULL;
    response.opts = O_STORE_AFFECTEDSOPCLASSUID | O_STORE_AFFECTEDSOPINSTANCEUID;
    OFStandard::strlcpy(response.AffectedSOPClassUID, request.AffectedSOPClassUID, sizeof(response.AffectedSOPClassUID));
    OFStandard::strlcpy(response.AffectedSOPInstanceUID, request.AffectedSOPInstanceUID,
                        sizeof(response.AffectedSOPInstanceUID));
    std::unique_ptr<DcmDataset> detail = statusDetail(status, comment);
    CorkedSends corked(assoc_);
    return DIMSE_sendStoreResponse(assoc_, presID, &request, &response, detail.get());
}

OFCondition AssociationWorker::receiveIdentifier(T_ASC_PresentationContextID presID, DcmDataset **identifier) {
    T_ASC_PresentationContextID dataPresID = presID;
    *identifier = nullptr;
    OFCondition cond = DIMSE_receiveDataSetInMemory(assoc_, DIMSE_NONBLOCKING, static_cast<int>(config_.dimseTimeout),
                                                    &dataPresID, identifier, nullptr, nullptr);
    if (cond.bad())
        return cond;
    if (dataPresID != presID) {
        delete *identifier;
        *identifier = nullptr;
        return DIMSE_BADMESSAGE;
    }
    return EC_Normal;
}

std::unique_ptr<cdcm_dataset> AssociationWorker::wrapIdentifier(DcmDataset *identifier,
                                                                const DcmPresentationContextInfo &info) {
    std::unique_ptr<cdcm_dataset> handle(new cdcm_dataset());
    handle->file.reset(new DcmFileFormat(identifier, OFFalse)); // takes ownership
    handle->transferSyntax = info.acceptedTransferSyntax.c_str();
    handle->flags = 0;
    convertToUTF8(*handle);
    return handle;
}

OFCondition AssociationWorker::handleFind(T_DIMSE_C_FindRQ &request, T_ASC_PresentationContextID presID,
                                          const DcmPresentationContextInfo &info) {
    if (request.DataSetType == DIMSE_DATASET_NULL)
        return DIMSE_BADMESSAGE;
    DcmDataset *identifier = nullptr;
    OFCondition cond = receiveIdentifier(presID, &identifier);
    if (cond.bad())
        return cond;
    std::unique_ptr<cdcm_dataset> handle = wrapIdentifier(identifier, info);

    // The matches and the final response leave corked, in full segments (flushed every few
    // matches by cdcm_find_respond, and at the end).
    CorkedSends corked(assoc_);
    char model = 0;
    uint16_t status = STATUS_Success;
    char comment[65] = {0};
    cdcm_find_responder responder;
    responder.worker = this;
    responder.corked = &corked;
    responder.assoc = assoc_;
    responder.presID = presID;
    responder.request = &request;
    if (serviceKind(info.abstractSyntax.c_str(), &model) != ServiceKind::find || config_.onFind == nullptr) {
        status = STATUS_FIND_Refused_SOPClassNotSupported;
    } else {
        const bool fuzzy = model == 'P' ? fuzzyNames_[0] : fuzzyNames_[1];
        status = config_.onFind(config_.context, id_, model, fuzzy ? CDCM_FIND_FUZZY_NAMES : 0u, handle.get(),
                                &responder, comment);
        comment[64] = '\0';
    }
    if (responder.failed)
        return DIMSE_SENDFAILED; // the association is unusable: DcmSCP aborts it
    if (responder.cancelled)
        status = STATUS_FIND_Cancel_MatchingTerminatedDueToCancelRequest;
    else if (DICOM_PENDING_STATUS(status))
        status = STATUS_FIND_Failed_UnableToProcess; // a final status must not be pending

    T_DIMSE_C_FindRSP response;
    std::memset(&response, 0, sizeof(response));
    response.MessageIDBeingRespondedTo = request.MessageID;
    response.DimseStatus = status;
    response.DataSetType = DIMSE_DATASET_NULL;
    response.opts = O_FIND_AFFECTEDSOPCLASSUID;
    OFStandard::strlcpy(response.AffectedSOPClassUID, request.AffectedSOPClassUID, sizeof(response.AffectedSOPClassUID));
    std::unique_ptr<DcmDataset> detail = statusDetail(status, comment);
    return DIMSE_sendFindResponse(assoc_, presID, &request, &response, nullptr, detail.get());
}

OFCondition AssociationWorker::handleRetrieve(T_DIMSE_Message *message, T_ASC_PresentationContextID presID,
                                              const DcmPresentationContextInfo &info) {
    const bool isMove = message->CommandField == DIMSE_C_MOVE_RQ;
    const Uint16 messageID = isMove ? message->msg.CMoveRQ.MessageID : message->msg.CGetRQ.MessageID;
    const char *sopClass = isMove ? message->msg.CMoveRQ.AffectedSOPClassUID : message->msg.CGetRQ.AffectedSOPClassUID;
    const T_DIMSE_DataSetType dataSetType = isMove ? message->msg.CMoveRQ.DataSetType : message->msg.CGetRQ.DataSetType;
    if (dataSetType == DIMSE_DATASET_NULL)
        return DIMSE_BADMESSAGE;
    DcmDataset *identifier = nullptr;
    OFCondition cond = receiveIdentifier(presID, &identifier);
    if (cond.bad())
        return cond;
    std::unique_ptr<cdcm_dataset> handle = wrapIdentifier(identifier, info);

    // Sends one C-MOVE-RSP / C-GET-RSP. withCounts: the four counters; withRemaining: remaining too.
    auto respond = [&](uint16_t status, const SubOpCounts *counts, bool withRemaining, DcmDataset *identifierOut,
                       DcmDataset *detail) -> OFCondition {
        if (isMove) {
            T_DIMSE_C_MoveRSP rsp;
            std::memset(&rsp, 0, sizeof(rsp));
            rsp.MessageIDBeingRespondedTo = messageID;
            rsp.DimseStatus = status;
            rsp.DataSetType = identifierOut != nullptr ? DIMSE_DATASET_PRESENT : DIMSE_DATASET_NULL;
            rsp.opts = O_MOVE_AFFECTEDSOPCLASSUID;
            OFStandard::strlcpy(rsp.AffectedSOPClassUID, sopClass, sizeof(rsp.AffectedSOPClassUID));
            if (counts != nullptr) {
                rsp.NumberOfCompletedSubOperations = clamp16(counts->completed);
                rsp.NumberOfFailedSubOperations = clamp16(counts->failed);
                rsp.NumberOfWarningSubOperations = clamp16(counts->warning);
                rsp.opts |= O_MOVE_NUMBEROFCOMPLETEDSUBOPERATIONS | O_MOVE_NUMBEROFFAILEDSUBOPERATIONS |
                            O_MOVE_NUMBEROFWARNINGSUBOPERATIONS;
                if (withRemaining) {
                    rsp.NumberOfRemainingSubOperations = clamp16(counts->remaining);
                    rsp.opts |= O_MOVE_NUMBEROFREMAININGSUBOPERATIONS;
                }
            }
            CorkedSends corked(assoc_);
            return DIMSE_sendMoveResponse(assoc_, presID, &message->msg.CMoveRQ, &rsp, identifierOut, detail);
        }
        T_DIMSE_C_GetRSP rsp;
        std::memset(&rsp, 0, sizeof(rsp));
        rsp.MessageIDBeingRespondedTo = messageID;
        rsp.DimseStatus = status;
        rsp.DataSetType = identifierOut != nullptr ? DIMSE_DATASET_PRESENT : DIMSE_DATASET_NULL;
        rsp.opts = O_GET_AFFECTEDSOPCLASSUID;
        OFStandard::strlcpy(rsp.AffectedSOPClassUID, sopClass, sizeof(rsp.AffectedSOPClassUID));
        if (counts != nullptr) {
            rsp.NumberOfCompletedSubOperations = clamp16(counts->completed);
            rsp.NumberOfFailedSubOperations = clamp16(counts->failed);
            rsp.NumberOfWarningSubOperations = clamp16(counts->warning);
            rsp.opts |= O_GET_NUMBEROFCOMPLETEDSUBOPERATIONS | O_GET_NUMBEROFFAILEDSUBOPERATIONS |
                        O_GET_NUMBEROFWARNINGSUBOPERATIONS;
            if (withRemaining) {
                rsp.NumberOfRemainingSubOperations = clamp16(counts->remaining);
                rsp.opts |= O_GET_NUMBEROFREMAININGSUBOPERATIONS;
            }
        }
        CorkedSends corked(assoc_);
        return DIMSE_sendGetResponse(assoc_, presID, &message->msg.CGetRQ, &rsp, identifierOut, detail);
    };

    char model = 0;
    const ServiceKind kind = serviceKind(info.abstractSyntax.c_str(), &model);
    cdcm_retrieve_callback callback = isMove ? config_.onMove : config_.onGet;
    if (kind != (isMove ? ServiceKind::move : ServiceKind::get) || callback == nullptr)
        return respond(STATUS_MOVE_Refused_SOPClassNotSupported, nullptr, false, nullptr, nullptr);

    const std::string moveDestination = isMove ? trim(message->msg.CMoveRQ.MoveDestination) : std::string();
    cdcm_move_destination destination;
    std::memset(&destination, 0, sizeof(destination));
    cdcm_retrieve_request request;
    char comment[65] = {0};
    uint16_t status = callback(config_.context, id_, model, handle.get(), isMove ? moveDestination.c_str() : nullptr,
                               &destination, &request, comment);
    comment[64] = '\0';
    destination.host[sizeof(destination.host) - 1] = '\0';
    if (status != STATUS_Success) {
        if (DICOM_PENDING_STATUS(status))
            status = STATUS_MOVE_Failed_UnableToProcess;
        std::unique_ptr<DcmDataset> detail = statusDetail(status, comment);
        return respond(status, nullptr, false, nullptr, detail.get());
    }

    SubOpCounts counts;
    counts.remaining = static_cast<uint32_t>(request.files.size());
    bool cancelled = false;
    std::string failureComment;
    MoveDestinationAssociation subAssociation;
    T_ASC_Association *target = assoc_;
    bool targetLost = false;
    if (isMove && !request.files.empty()) {
        if (destination.host[0] == '\0' || destination.port == 0) {
            targetLost = true;
            failureComment = "move destination has no host/port";
        } else {
            failureComment = subAssociation.open(config_, moveDestination, destination, request.files);
            targetLost = !failureComment.empty();
            target = subAssociation.association();
        }
    }

    for (size_t i = 0; i < request.files.size(); ++i) {
        const cdcm_retrieve_file &file = request.files[i];
        // C-CANCEL between sub-operations (for C-GET it is also caught while waiting for a C-STORE-RSP).
        if (!cancelled) {
            const OFCondition cancelCond = DIMSE_checkForCancelRQ(assoc_, presID, messageID);
            if (cancelCond.good())
                cancelled = true;
            else if (cancelCond != DIMSE_NODATAAVAILABLE)
                return cancelCond; // the requestor's association failed
        }
        if (cancelled)
            break;
        SubOpOutcome outcome = SubOpOutcome::failed;
        T_DIMSE_DetectedCancelParameters cancelParams;
        std::memset(&cancelParams, 0, sizeof(cancelParams));
        if (!targetLost) {
            bool lost = false;
            outcome = sendStoredFile(target, file, !isMove, isMove ? callingAE_.c_str() : nullptr, messageID,
                                     config_.dimseTimeout, isMove ? nullptr : &cancelParams, &lost);
            if (lost) {
                targetLost = true;
                if (!isMove)
                    return DIMSE_SENDFAILED; // C-GET: the requestor's own association broke
                failureComment = "the association to the move destination failed";
            }
            if (!isMove && cancelParams.cancelEncountered)
                cancelled = true;
        }
        counts.remaining--;
        switch (outcome) {
        case SubOpOutcome::completed: counts.completed++; break;
        case SubOpOutcome::warning: counts.warning++; break;
        case SubOpOutcome::failed:
            counts.failed++;
            counts.failedUIDs.push_back(file.sopInstance);
            break;
        }
        if (counts.remaining > 0 && !cancelled) {
            cond = respond(STATUS_MOVE_Pending_SubOperationsAreContinuing, &counts, true, nullptr, nullptr);
            if (cond.bad())
                return cond;
        }
    }
    subAssociation.close(targetLost);

    // Final status (PS3.4 C.4.2.1.5 / C.4.3.1.4).
    if (cancelled)
        status = STATUS_MOVE_Cancel_SubOperationsTerminatedDueToCancelIndication;
    else if (counts.failed == 0 && counts.warning == 0)
        status = STATUS_Success;
    else if (counts.completed == 0 && counts.warning == 0)
        status = STATUS_MOVE_Refused_OutOfResourcesSubOperations; // 0xA702: none succeeded
    else
        status = STATUS_MOVE_Warning_SubOperationsCompleteOneOrMoreFailures;
    // Instances not attempted because of the cancel are "remaining", not failed.
    std::unique_ptr<DcmDataset> failedList;
    if (!counts.failedUIDs.empty()) {
        failedList.reset(new DcmDataset());
        std::string joined;
        for (const std::string &uid : counts.failedUIDs) {
            if (!joined.empty())
                joined += '\\';
            joined += uid;
        }
        failedList->putAndInsertString(DCM_FailedSOPInstanceUIDList, joined.c_str());
    }
    std::unique_ptr<DcmDataset> detail;
    if (status != STATUS_Success && !failureComment.empty()) {
        char text[65];
        std::snprintf(text, sizeof(text), "%s", failureComment.c_str());
        detail = statusDetail(status, text);
    }
    return respond(status, &counts, cancelled, failedList.get(), detail.get());
}

// ---------------------------------------------------------------------------------------------
// Accept loop

void rejectAssociation(T_ASC_Association *assoc, uint8_t result, uint8_t source, uint8_t reason) {
    // Fall back to "rejected-permanent, service-user, no-reason" for values PS3.8 does not define.
    bool valid = (result == 1 || result == 2);
    if (source == 1)
        valid = valid && (reason == 1 || reason == 2 || reason == 3 || reason == 7);
    else if (source == 2 || source == 3)
        valid = valid && (reason == 1 || reason == 2);
    else
        valid = false;
    if (!valid) {
        result = 1;
        source = 1;
        reason = 1;
    }
    T_ASC_RejectParameters rej;
    rej.result = static_cast<T_ASC_RejectParametersResult>(result);
    rej.source = static_cast<T_ASC_RejectParametersSource>(source);
    rej.reason = static_cast<T_ASC_RejectParametersReason>((source << 8) | reason);
    ASC_rejectAssociation(assoc, &rej);
}

void dropAssociation(T_ASC_Association *&assoc) {
    if (assoc != nullptr) {
        ASC_dropAssociation(assoc);
        ASC_destroyAssociation(&assoc);
    }
}

void setCloseOnExec(int fd) {
    if (fd >= 0) {
        const int flags = fcntl(fd, F_GETFD);
        if (flags >= 0)
            fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
}

void serveAssociation(cdcm_scp *server, uint64_t id, T_ASC_Association *assoc) {
    const ServerConfig &config = server->config;
    // DCMTK's accepted sockets are inheritable: keep them out of processes the host app spawns.
    if (DcmTransportConnection *connection = DUL_getTransportConnection(assoc->DULassociation))
        setCloseOnExec(static_cast<int>(TransportSocketAccess::socketOf(connection)));

    T_ASC_Parameters *params = assoc->params;
    const std::string callingAE = trim(params->DULparams.callingAPTitle);
    const std::string calledAE = trim(params->DULparams.calledAPTitle);
    const std::string peerHost = params->DULparams.callingPresentationAddress;
    std::string certificateSubject, certificateSHA256;
    bool secure = false, hasCertificate = false;
    if (config.tls) {
        cdcm_detail::restoreReceiveTimeout(assoc);
        secure = cdcm_detail::isSecureAssociation(assoc);
        hasCertificate = secure && cdcm_detail::peerCertificate(assoc, &certificateSubject, &certificateSHA256);
    }
    cdcm_association_info info;
    std::memset(&info, 0, sizeof(info));
    info.association_id = id;
    info.calling_ae = callingAE.c_str();
    info.called_ae = calledAE.c_str();
    info.peer_host = peerHost.c_str();
    info.max_pdu_peer = static_cast<uint32_t>(params->theirMaxPDUReceiveSize);
    info.peer_certificate_subject = hasCertificate ? certificateSubject.c_str() : nullptr;
    info.peer_certificate_sha256 = hasCertificate ? certificateSHA256.c_str() : nullptr;
    info.tls = secure ? 1 : 0;
    std::unique_ptr<AssociationWorker> worker;
    try {
        worker.reset(new AssociationWorker(*server, id, assoc, callingAE));
        if (worker->setSharedConfig(server->sharedConfig).bad())
            worker.reset();
    } catch (...) {
        worker.reset();
    }
    if (!worker) {
        rejectAssociation(assoc, 2, 3, 1); // temporary congestion
        dropAssociation(assoc);
        return;
    }
    cdcm_reject reject = {1, 1, 1};
    const int32_t accept = config.onAssociation != nullptr ? config.onAssociation(config.context, &info, &reject) : 1;
    if (accept != 1) {
        worker.reset(); // never ran: it does not own the association
        rejectAssociation(assoc, reject.result, reject.source, reject.reason);
        dropAssociation(assoc);
        return;
    }
    bool aborted = true;
    if (DcmTransportConnection *connection = DUL_getTransportConnection(assoc->DULassociation)) {
        std::lock_guard<std::mutex> lock(server->mutex);
        server->sockets[id] = static_cast<int>(TransportSocketAccess::socketOf(connection));
    }
    try {
        // From here on DcmSCP owns the association (its destructor drops and destroys it).
        worker->serve();
        aborted = !worker->released();
    } catch (...) {
    }
    {
        // Before the socket is closed (with the worker): a shut-down after it could hit a reused descriptor.
        std::lock_guard<std::mutex> lock(server->mutex);
        server->sockets.erase(id);
    }
    worker.reset();
    if (config.onAssociationEnd != nullptr)
        config.onAssociationEnd(config.context, id, aborted ? 1 : 0);
}

void joinFinished(cdcm_scp *server) {
    std::vector<std::thread> done;
    {
        std::lock_guard<std::mutex> lock(server->mutex);
        for (uint64_t id : server->finished) {
            auto it = server->threads.find(id);
            if (it != server->threads.end()) {
                done.push_back(std::move(it->second));
                server->threads.erase(it);
            }
        }
        server->finished.clear();
    }
    for (std::thread &t : done)
        if (t.joinable())
            t.join();
}

// Replaces the listening socket DCMTK created (all interfaces, any port) by one bound to the
// configured address and port: DCMTK 3.6.7 has no bind address setting. "" on success.
std::string bindListeningSocket(T_ASC_Network *network, const std::string &address, uint16_t port, uint16_t *boundPort) {
    sockaddr_in sa;
    std::memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    if (address.empty()) {
        sa.sin_addr.s_addr = htonl(INADDR_ANY);
    } else if (inet_pton(AF_INET, address.c_str(), &sa.sin_addr) != 1) {
        return "bind_address must be an IPv4 address in dotted form (DCMTK 3.6.7 accepts IPv4 only)";
    }
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return "cannot create a socket: " + errnoText(errno);
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, reinterpret_cast<sockaddr *>(&sa), sizeof(sa)) != 0) {
        const int code = errno;
        ::close(fd);
        char text[64];
        std::snprintf(text, sizeof(text), "cannot bind %s:%u: ", address.empty() ? "0.0.0.0" : address.c_str(),
                      static_cast<unsigned>(port));
        return text + errnoText(code);
    }
    if (::listen(fd, 128) != 0) {
        const int code = errno;
        ::close(fd);
        return "cannot listen: " + errnoText(code);
    }
    sockaddr_in bound;
    socklen_t length = sizeof(bound);
    if (::getsockname(fd, reinterpret_cast<sockaddr *>(&bound), &length) != 0) {
        const int code = errno;
        ::close(fd);
        return "getsockname failed: " + errnoText(code);
    }
    const int dcmtkSocket = static_cast<int>(DUL_networkSocket(network->network));
    if (dcmtkSocket < 0) {
        ::close(fd);
        return "DCMTK has no listening socket";
    }
    if (::dup2(fd, dcmtkSocket) < 0) { // atomically closes DCMTK's socket and puts ours in its place
        const int code = errno;
        ::close(fd);
        return "dup2 failed: " + errnoText(code);
    }
    ::close(fd);
    setCloseOnExec(dcmtkSocket);
    *boundPort = ntohs(bound.sin_port);
    network->acceptorPort = *boundPort;
    return std::string();
}

// The IP address of a connection's peer ("" when gone).
std::string peerAddress(int fd) {
    sockaddr_in peer;
    socklen_t length = sizeof(peer);
    char text[INET_ADDRSTRLEN] = {0};
    if (::getpeername(fd, reinterpret_cast<sockaddr *>(&peer), &length) != 0 || peer.sin_family != AF_INET ||
        ::inet_ntop(AF_INET, &peer.sin_addr, text, sizeof(text)) == nullptr)
        return std::string();
    return text;
}

void connectionDropped(const ServerConfig &config, const std::string &peerHost, const std::string &reason) {
    if (config.onConnectionDropped != nullptr)
        config.onConnectionDropped(config.context, peerHost.c_str(), reason.c_str());
}

// DCMTK reads dcmExternalSocketHandle when it receives an association: one receive at a time.
std::mutex gAdoptedSocketMutex;

// Connections accepted but not yet associated, beyond the associations: closed at once.
size_t waitingAllowance(const ServerConfig &config) {
    return std::max<size_t>(16, config.maxAssociations);
}

enum class FirstBytes { ready, silent, closedEmpty, stopping };

// Waits until the peer's first bytes are there: for plain TCP its whole first PDU (the 6-byte PDU
// header gives the length), so that DCMTK reads the A-ASSOCIATE-RQ without blocking; for TLS the
// first bytes of the handshake (the handshake then runs on the connection's thread, cdcm_tls.cpp).
// silent: nothing complete before the ACSE timeout; closedEmpty: the peer closed without sending a
// byte (a port probe, a load balancer's health check).
FirstBytes waitForRequest(cdcm_scp *scp, int fd) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(std::max<uint32_t>(1, scp->config.acseTimeout));
    size_t wanted = 1;
    while (!scp->stopRequested.load()) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0)
            return FirstBytes::silent;
        int available = 0;
        if (::ioctl(fd, FIONREAD, &available) != 0)
            return FirstBytes::ready; // let DCMTK find out what is wrong with the socket
        if (available > 0 && wanted == 1) {
            if (scp->config.tls)
                return FirstBytes::ready;
            wanted = 6;
        }
        if (wanted == 6 && available >= 6) {
            uint8_t header[6];
            if (::recv(fd, header, sizeof(header), MSG_PEEK | MSG_DONTWAIT) != 6)
                return FirstBytes::ready;
            const uint32_t length = (uint32_t(header[2]) << 24) | (uint32_t(header[3]) << 16) |
                                    (uint32_t(header[4]) << 8) | uint32_t(header[5]);
            if (header[0] != 0x01 || length > (1u << 20))
                return FirstBytes::ready; // not an A-ASSOCIATE-RQ, or an outsized one: DCMTK refuses it
            // At most the first 32 KiB: a request larger than the socket's buffer could never be
            // there whole, and its rest is on its way anyway.
            wanted = std::min<size_t>(6 + size_t(length), 32 * 1024);
        }
        if (wanted > 6 && size_t(available) >= wanted)
            return FirstBytes::ready;
        if (available == 0) {
            // Nothing yet: sleep in the kernel until bytes or the end of the stream arrive.
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(std::min<long long>(left, 500))) > 0 &&
                ::ioctl(fd, FIONREAD, &available) == 0 && available == 0)
                return wanted == 1 ? FirstBytes::closedEmpty : FirstBytes::ready; // readable, empty: closed
        } else {
            // Part of the PDU is there: the rest follows within milliseconds from any real peer.
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
    }
    return FirstBytes::stopping;
}

// One accepted connection, on its own thread: its A-ASSOCIATE-RQ received, then the association
// served (or rejected).
void connectionThread(cdcm_scp *scp, uint64_t id, int fd) {
    const ServerConfig &config = scp->config;
    try {
        const std::string peerHost = peerAddress(fd);
        T_ASC_Association *assoc = nullptr;
        OFCondition cond = DUL_NOASSOCIATIONREQUEST;
        bool handed = false;
        const FirstBytes first = waitForRequest(scp, fd);
        // TLS: the handshake and the wait for the request's first bytes, outside the lock.
        std::string tlsFailure;
        if (first == FirstBytes::ready && config.tls)
            tlsFailure = cdcm_detail::handshakeBeforeReceive(scp->transportLayer.get(), fd, &scp->stopRequested);
        if (first == FirstBytes::ready && tlsFailure.empty()) {
            std::lock_guard<std::mutex> lock(gAdoptedSocketMutex);
            sockaddr_storage peer;
            socklen_t length = sizeof(peer);
            // DCMTK takes the socket only once its getpeername() succeeded: checked here first, so
            // that the socket is either DCMTK's (closed with the association) or still ours.
            if (::getpeername(fd, reinterpret_cast<sockaddr *>(&peer), &length) == 0) {
                dcmExternalSocketHandle.set(fd);
                handed = true;
                cond = ASC_receiveAssociation(scp->network, &assoc, static_cast<long>(config.maxReceivePDU), nullptr,
                                              nullptr, config.tls ? OFTrue : OFFalse, DUL_NOBLOCK,
                                              static_cast<int>(config.acseTimeout));
                dcmExternalSocketHandle.set(DCMNET_INVALID_SOCKET);
            }
            cdcm_detail::discardPendingHandshake(); // (only when DCMTK failed before taking it)
        }
        if (!handed) {
            ::close(fd); // silent until the ACSE timeout, gone, or stopping: no association
            if (first == FirstBytes::silent)
                connectionDropped(config, peerHost, "no A-ASSOCIATE-RQ within the ACSE timeout (" +
                                                    std::to_string(config.acseTimeout) + " s)");
            else if (!tlsFailure.empty() && !scp->stopRequested.load())
                connectionDropped(config, peerHost, tlsFailure);
            else if (first == FirstBytes::ready)
                connectionDropped(config, peerHost, "the connection was closed");
        } else if (cond.bad() && !scp->stopRequested.load()) {
            connectionDropped(config, peerHost, std::string("no valid A-ASSOCIATE-RQ") +
                                                (config.tls ? " (or a failed TLS handshake): " : ": ") + cond.text());
        }
        if (handed && cond.good()) {
            bool serve = false;
            if (scp->stopRequested.load()) {
                rejectAssociation(assoc, 2, 3, 1); // shutting down: temporary congestion
            } else {
                std::unique_lock<std::mutex> lock(scp->mutex);
                if (scp->serving < config.maxAssociations) {
                    scp->serving++;
                    serve = true;
                } else {
                    lock.unlock();
                    rejectAssociation(assoc, 2, 3, 2); // rejected-transient, presentation, local-limit-exceeded
                }
            }
            if (serve) {
                serveAssociation(scp, id, assoc); // owns the association from here
                assoc = nullptr;
                std::lock_guard<std::mutex> lock(scp->mutex);
                scp->serving--;
            }
        }
        // A connection that closed or sent garbage before its A-ASSOCIATE-RQ, a failed TLS
        // handshake (plain-TCP client, untrusted certificate, timeout), or a rejection.
        dropAssociation(assoc);
    } catch (...) {
        // Nothing can be reported from here.
    }
    {
        std::lock_guard<std::mutex> lock(scp->mutex);
        scp->active--;
        scp->finished.push_back(id);
    }
    scp->idle.notify_all();
}

// The accept loop of cdcm_scp_run (may throw; the caller waits for the connection threads).
void acceptLoop(cdcm_scp *scp) {
    const ServerConfig &config = scp->config;
    const int listening = static_cast<int>(DUL_networkSocket(scp->network->network));
    // Non-blocking: a connection reset between poll() and accept() must not block the loop (DCMTK
    // never uses this socket itself now; accepted sockets stay blocking, as DCMTK expects).
    const int flags = ::fcntl(listening, F_GETFL);
    if (flags >= 0)
        ::fcntl(listening, F_SETFL, flags | O_NONBLOCK);
    while (!scp->stopRequested.load()) {
        joinFinished(scp);
        pollfd p{listening, POLLIN, 0};
        if (::poll(&p, 1, 1000) <= 0 || !(p.revents & POLLIN))
            continue;
        const int fd = ::accept4(listening, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
            // A connection gone before it was taken, or out of descriptors: pause briefly so a
            // persistent failure cannot spin the loop.
            if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            continue;
        }
        if (scp->stopRequested.load()) {
            ::close(fd);
            break;
        }
        std::unique_lock<std::mutex> lock(scp->mutex);
        if (scp->active >= config.maxAssociations + waitingAllowance(config)) {
            lock.unlock();
            const std::string peerHost = peerAddress(fd);
            ::close(fd); // flooded with connections that have not associated: no thread for this one
            connectionDropped(config, peerHost, "too many connections are waiting to associate (" +
                                                std::to_string(waitingAllowance(config)) + " beyond the associations)");
            continue;
        }
        const uint64_t id = gNextAssociationId.fetch_add(1);
        bool started = false;
        try {
            std::thread &slot = scp->threads[id]; // the map node first: nothing throws after the start
            scp->active++;
            try {
                slot = std::thread(connectionThread, scp, id, fd);
                started = true;
            } catch (...) {
                scp->active--;
                scp->threads.erase(id);
            }
        } catch (...) {
        }
        if (!started) {
            lock.unlock();
            ::close(fd); // cannot start a thread
        }
    }
}

// Stops listening while DCMTK keeps a valid descriptor to close later: an unbound socket takes the
// listening socket's place, so new connections are refused at once while in-flight associations
// finish (instead of waiting unanswered in the backlog until cdcm_scp_free).
void retireListeningSocket(cdcm_scp *scp) {
    if (scp->network == nullptr)
        return;
    const int listening = static_cast<int>(DUL_networkSocket(scp->network->network));
    const int placeholder = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listening >= 0 && placeholder >= 0)
        ::dup2(placeholder, listening);
    if (placeholder >= 0)
        ::close(placeholder);
}

} // namespace

// ---------------------------------------------------------------------------------------------
// C API

extern "C" {

int32_t cdcm_dataset_new(cdcm_dataset **out, cdcm_error *error) {
    try {
        clearError(error);
        if (out != nullptr)
            *out = nullptr;
        const int32_t status = cdcm_detail::ensureInitialized(error);
        if (status != CDCM_OK)
            return status;
        if (out == nullptr)
            return fail(error, CDCM_ERR_ARGUMENT, "cdcm_dataset_new: out must not be NULL");
        std::unique_ptr<cdcm_dataset> handle(new cdcm_dataset());
        handle->file.reset(new DcmFileFormat());
        handle->converted = true; // built from UTF-8 text
        *out = handle.release();
        return CDCM_OK;
    } catch (...) {
        return internalFailure(error, "cdcm_dataset_new");
    }
}

int32_t cdcm_dataset_put_string(cdcm_dataset *dataset, cdcm_path path, const char *value, cdcm_error *error) {
    try {
        clearError(error);
        int32_t status = cdcm_detail::ensureInitialized(error);
        if (status != CDCM_OK)
            return status;
        if (dataset == nullptr || !dataset->file)
            return fail(error, CDCM_ERR_ARGUMENT, "cdcm_dataset_put_string: dataset must not be NULL");
        DcmItem *item = nullptr;
        status = itemForPut(dataset, path, &item);
        if (status != CDCM_OK)
            return fail(error, status, "cdcm_dataset_put_string: malformed path, a step through an element that is "
                                       "not a sequence, or a meta/command/group-length tag");
        const char *text = value != nullptr ? value : "";
        const DcmTag tag = tagForPut(tagKey(path.tags[path.depth - 1]), text);
        const PutKind kind = putKind(tag.getEVR());
        OFCondition cond;
        if (kind == PutKind::sequence) {
            if (text[0] != '\0')
                return fail(error, CDCM_ERR_ARGUMENT, "cdcm_dataset_put_string: a sequence cannot hold a text value");
            cond = item->insertEmptyElement(tag, OFTrue);
        } else if (kind == PutKind::binary) {
            return fail(error, CDCM_ERR_ARGUMENT,
                        std::string("cdcm_dataset_put_string: VR ") + tag.getVRName() + " has no text form");
        } else if (text[0] == '\0') {
            cond = item->insertEmptyElement(tag, OFTrue);
        } else if (kind == PutKind::number && !validNumbers(tag.getEVR(), text)) {
            return fail(error, CDCM_ERR_ARGUMENT,
                        std::string("cdcm_dataset_put_string: not a decimal number within the range of VR ") +
                            tag.getVRName());
        } else if (kind == PutKind::tag) {
            std::string converted;
            if (!attributeTagText(text, &converted))
                return fail(error, CDCM_ERR_ARGUMENT,
                            "cdcm_dataset_put_string: AT values are 8 hex digits per tag (\"00100010\")");
            cond = item->putAndInsertString(tag, converted.c_str(), OFTrue);
        } else {
            cond = item->putAndInsertString(tag, text, OFTrue);
        }
        if (cond.bad())
            return fail(error, kind == PutKind::number ? CDCM_ERR_ARGUMENT : CDCM_ERR_INTERNAL,
                        std::string("cdcm_dataset_put_string: ") + cond.text());
        return CDCM_OK;
    } catch (...) {
        return internalFailure(error, "cdcm_dataset_put_string");
    }
}

int32_t cdcm_dataset_put_empty_sequence(cdcm_dataset *dataset, cdcm_path path, cdcm_error *error) {
    try {
        clearError(error);
        int32_t status = cdcm_detail::ensureInitialized(error);
        if (status != CDCM_OK)
            return status;
        if (dataset == nullptr || !dataset->file)
            return fail(error, CDCM_ERR_ARGUMENT, "cdcm_dataset_put_empty_sequence: dataset must not be NULL");
        DcmItem *item = nullptr;
        status = itemForPut(dataset, path, &item);
        if (status != CDCM_OK)
            return fail(error, status, "cdcm_dataset_put_empty_sequence: malformed path");
        const DcmTagKey key = tagKey(path.tags[path.depth - 1]);
        const DcmTag known(key);
        if (known.getEVR() != EVR_SQ && known.getEVR() != EVR_UN && known.getEVR() != EVR_UNKNOWN)
            return fail(error, CDCM_ERR_ARGUMENT, "cdcm_dataset_put_empty_sequence: the tag is not a sequence");
        const OFCondition cond = item->insertEmptyElement(DcmTag(key, EVR_SQ), OFTrue);
        if (cond.bad())
            return fail(error, CDCM_ERR_INTERNAL, std::string("cdcm_dataset_put_empty_sequence: ") + cond.text());
        return CDCM_OK;
    } catch (...) {
        return internalFailure(error, "cdcm_dataset_put_empty_sequence");
    }
}

int32_t cdcm_dataset_top_level_tags(cdcm_dataset *dataset, const uint32_t **tags, size_t *count) {
    try {
        if (tags != nullptr)
            *tags = nullptr;
        if (count != nullptr)
            *count = 0;
        if (dataset == nullptr || !dataset->file || tags == nullptr || count == nullptr)
            return CDCM_ERR_ARGUMENT;
        DcmDataset *ds = dataset->file->getDataset();
        dataset->topLevelTags.clear();
        for (unsigned long i = 0; i < ds->card(); ++i) {
            DcmElement *element = ds->getElement(i);
            if (element == nullptr)
                continue;
            const DcmTagKey key = element->getTag();
            dataset->topLevelTags.push_back((static_cast<uint32_t>(key.getGroup()) << 16) | key.getElement());
        }
        *tags = dataset->topLevelTags.empty() ? nullptr : dataset->topLevelTags.data();
        *count = dataset->topLevelTags.size();
        return CDCM_OK;
    } catch (...) {
        return CDCM_ERR_INTERNAL;
    }
}

int32_t cdcm_find_respond(cdcm_find_responder *responder, cdcm_dataset *match) {
    try {
        if (responder == nullptr || match == nullptr || !match->file)
            return CDCM_ERR_ARGUMENT;
        if (responder->failed)
            return -1;
        if (responder->cancelled)
            return 1;
        T_DIMSE_C_FindRSP response;
        std::memset(&response, 0, sizeof(response));
        response.MessageIDBeingRespondedTo = responder->request->MessageID;
        response.DimseStatus = STATUS_FIND_Pending_MatchesAreContinuing;
        response.DataSetType = DIMSE_DATASET_PRESENT;
        response.opts = O_FIND_AFFECTEDSOPCLASSUID;
        OFStandard::strlcpy(response.AffectedSOPClassUID, responder->request->AffectedSOPClassUID,
                            sizeof(response.AffectedSOPClassUID));
        // The viewer gets the first matches while the rest are built (not the first 64 KB only),
        // and a C-CANCEL is looked for every few matches (each look is a poll() of the socket).
        constexpr uint32_t matchesPerFlush = 16;
        constexpr uint32_t matchesPerCancelCheck = 4;
        if (responder->corked != nullptr && responder->sent > 0 && responder->sent % matchesPerFlush == 0)
            responder->corked->flush();
        OFCondition cond = DIMSE_sendFindResponse(responder->assoc, responder->presID, responder->request, &response,
                                                  match->file->getDataset(), nullptr);
        if (cond.bad()) {
            responder->failed = true;
            return -1;
        }
        if (++responder->sent % matchesPerCancelCheck != 1)
            return 0;
        cond = DIMSE_checkForCancelRQ(responder->assoc, responder->presID, responder->request->MessageID);
        if (cond.good()) {
            responder->cancelled = true;
            return 1;
        }
        if (cond == DIMSE_NODATAAVAILABLE)
            return 0;
        responder->failed = true; // anything but a C-CANCEL (or nothing) while we answer: give up
        return -1;
    } catch (...) {
        if (responder != nullptr)
            responder->failed = true;
        return CDCM_ERR_INTERNAL;
    }
}

int32_t cdcm_retrieve_add_file(cdcm_retrieve_request *request, const char *path, const char *sop_class_uid,
                               const char *sop_instance_uid, const char *transfer_syntax_uid) {
    try {
        if (request == nullptr || path == nullptr || path[0] == '\0' || sop_class_uid == nullptr ||
            sop_class_uid[0] == '\0' || sop_instance_uid == nullptr || sop_instance_uid[0] == '\0')
            return CDCM_ERR_ARGUMENT;
        if (std::strlen(sop_class_uid) > 64 || std::strlen(sop_instance_uid) > 64 ||
            (transfer_syntax_uid != nullptr && std::strlen(transfer_syntax_uid) > 64))
            return CDCM_ERR_ARGUMENT;
        cdcm_retrieve_file file;
        file.path = path;
        file.sopClass = sop_class_uid;
        file.sopInstance = sop_instance_uid;
        file.transferSyntax = transfer_syntax_uid != nullptr ? transfer_syntax_uid : "";
        request->files.push_back(std::move(file));
        return CDCM_OK;
    } catch (...) {
        return CDCM_ERR_INTERNAL;
    }
}

int32_t cdcm_scp_create(const cdcm_scp_config *config, cdcm_scp **out, cdcm_error *error) {
    try {
        clearError(error);
        if (out != nullptr)
            *out = nullptr;
        int32_t status = cdcm_detail::ensureInitialized(error);
        if (status != CDCM_OK)
            return status;
        if (config == nullptr || out == nullptr)
            return fail(error, CDCM_ERR_ARGUMENT, "cdcm_scp_create: config and out must not be NULL");
        const std::string ae = config->ae_title != nullptr ? trim(config->ae_title) : std::string();
        if (ae.empty() || ae.size() > 16)
            return fail(error, CDCM_ERR_ARGUMENT, "cdcm_scp_create: ae_title must have 1 to 16 characters");
        if (config->temporary_folder == nullptr || config->temporary_folder[0] == '\0')
            return fail(error, CDCM_ERR_ARGUMENT, "cdcm_scp_create: temporary_folder must be set");
        struct stat st;
        if (::stat(config->temporary_folder, &st) != 0 || !S_ISDIR(st.st_mode))
            return fail(error, CDCM_ERR_IO, std::string("cdcm_scp_create: temporary_folder is not a directory: ") +
                                                config->temporary_folder);
        if (config->max_associations < 1)
            return fail(error, CDCM_ERR_ARGUMENT, "cdcm_scp_create: max_associations must be at least 1");
        if (config->dimse_timeout_seconds < 1 || config->acse_timeout_seconds < 1)
            return fail(error, CDCM_ERR_ARGUMENT, "cdcm_scp_create: the ACSE and DIMSE timeouts must be at least 1 s");

        std::unique_ptr<cdcm_scp> server(new cdcm_scp());
        ServerConfig &c = server->config;
        c.aeTitle = ae;
        c.bindAddress = config->bind_address != nullptr ? config->bind_address : "";
        if (c.bindAddress == "0.0.0.0")
            c.bindAddress.clear();
        c.temporaryFolder = config->temporary_folder;
        while (c.temporaryFolder.size() > 1 && c.temporaryFolder.back() == '/')
            c.temporaryFolder.pop_back();
        // DCMTK's limits for the receive PDU: 4 KiB .. 128 KiB (ASC_MAXIMUMPDUSIZE).
        c.maxReceivePDU = config->max_receive_pdu == 0 ? ASC_DEFAULTMAXPDU : config->max_receive_pdu;
        c.maxReceivePDU = std::max<uint32_t>(ASC_MINIMUMPDUSIZE, std::min<uint32_t>(ASC_MAXIMUMPDUSIZE, c.maxReceivePDU));
        c.acseTimeout = config->acse_timeout_seconds;
        c.dimseTimeout = config->dimse_timeout_seconds;
        c.maxAssociations = config->max_associations;
        c.shutdownGraceSeconds = config->shutdown_grace_seconds;
        c.context = config->context;
        c.onAssociation = config->on_association;
        c.onAssociationEnd = config->on_association_end;
        c.onEcho = config->on_echo;
        c.onStore = config->on_store;
        c.onStoreRefused = config->on_store_refused;
        c.onFind = config->on_find;
        c.onMove = config->on_move;
        c.onGet = config->on_get;
        c.onConnectionDropped = config->on_connection_dropped;

        auto text = [](const char *value) { return std::string(value != nullptr ? value : ""); };
        cdcm_detail::TlsServerSettings tls;
        tls.certificateFile = text(config->tls_certificate_file);
        tls.privateKeyFile = text(config->tls_private_key_file);
        tls.trustedCertificatesFile = text(config->tls_trusted_certificates_file);
        tls.requireClientCertificate = config->tls_require_client_certificate != 0;
        tls.handshakeTimeoutSeconds = c.acseTimeout;
        if (tls.certificateFile.empty() &&
            (!tls.privateKeyFile.empty() || !tls.trustedCertificatesFile.empty() || tls.requireClientCertificate))
            return fail(error, CDCM_ERR_ARGUMENT,
                        "cdcm_scp_create: TLS settings without tls_certificate_file (set it, or clear the others)");
        if (!tls.certificateFile.empty()) {
            int32_t tlsStatus = CDCM_OK;
            std::string tlsMessage;
            server->transportLayer = cdcm_detail::makeServerTransportLayer(tls, &tlsStatus, &tlsMessage);
            if (!server->transportLayer)
                return fail(error, tlsStatus, "cdcm_scp_create: " + tlsMessage);
            c.tls = true;
        } else {
            server->transportLayer = std::make_unique<GatheringTransportLayer>();
        }

        // Process-wide DCMTK settings (dcmnet reads them when it opens sockets):
        setenv("TCP_NODELAY", "1", 0);             // Nagle off unless the environment says otherwise
        dcmDisableGethostbyaddr.set(OFTrue);       // peer_host stays numeric, no reverse DNS delay
        dcmConnectionTimeout.set(static_cast<Sint32>(c.acseTimeout)); // C-MOVE: bounded connect()

        DcmSCPConfig &shared = *server->sharedConfig;
        shared.setAETitle(ae.c_str());
        shared.setRespondWithCalledAETitle(OFTrue); // the policy callback decides which called AE is fine
        shared.setMaxReceivePDULength(c.maxReceivePDU);
        shared.setACSETimeout(c.acseTimeout);
        shared.setDIMSEBlockingMode(DIMSE_NONBLOCKING); // idle associations end after the DIMSE timeout
        shared.setDIMSETimeout(c.dimseTimeout);
        shared.setConnectionBlockingMode(DUL_NOBLOCK);
        shared.setConnectionTimeout(1);
        shared.setHostLookupEnabled(OFFalse);
        shared.setProgressNotificationMode(OFFalse);

        // Creating the acceptor network binds a port (any port: it is replaced right after by a
        // socket bound to the configured address and port, see bindListeningSocket).
        OFCondition cond = ASC_initializeNetwork(NET_ACCEPTOR, 0, static_cast<int>(c.acseTimeout), &server->network);
        if (cond.bad()) {
            server->network = nullptr;
            return fail(error, CDCM_ERR_IO, std::string("cdcm_scp_create: cannot initialise the network: ") + cond.text());
        }
        if (server->transportLayer) {
            cond = ASC_setTransportLayer(server->network, server->transportLayer.get(), 0 /* not owned */);
            if (cond.bad())
                return fail(error, CDCM_ERR_INTERNAL,
                            std::string("cdcm_scp_create: cannot set the transport layer: ") + cond.text());
        }
        const std::string bindError = bindListeningSocket(server->network, c.bindAddress, config->port, &server->port);
        if (!bindError.empty())
            return fail(error, bindError.find("bind_address") == 0 ? CDCM_ERR_ARGUMENT : CDCM_ERR_IO,
                        "cdcm_scp_create: " + bindError);
        (void)sopTables();
        *out = server.release();
        return CDCM_OK;
    } catch (...) {
        return internalFailure(error, "cdcm_scp_create");
    }
}

int32_t cdcm_scp_run(cdcm_scp *scp, cdcm_error *error) {
    clearError(error);
    if (scp == nullptr)
        return fail(error, CDCM_ERR_ARGUMENT, "cdcm_scp_run: scp must not be NULL");
    if (scp->running.exchange(true))
        return fail(error, CDCM_ERR_ARGUMENT, "cdcm_scp_run: already running");
    int32_t status = CDCM_OK;
    try {
        acceptLoop(scp);
    } catch (...) {
        status = internalFailure(error, "cdcm_scp_run");
    }
    retireListeningSocket(scp);
    // Whatever ended the loop, the association threads use the server: wait for all of them. Past
    // the grace period, the connections of those still open are shut down: their next read or
    // write fails and they end (a C-STORE in progress is not stored, nothing half-written stays).
    {
        std::unique_lock<std::mutex> lock(scp->mutex);
        const auto done = [scp] { return scp->active == 0; };
        const uint32_t grace = scp->config.shutdownGraceSeconds;
        if (grace > 0 && !scp->idle.wait_for(lock, std::chrono::seconds(grace), done)) {
            scp->abortedAtStop.store(static_cast<uint32_t>(scp->sockets.size()));
            for (const auto &entry : scp->sockets)
                ::shutdown(entry.second, SHUT_RDWR);
        }
        scp->idle.wait(lock, done);
    }
    try {
        joinFinished(scp);
    } catch (...) {
        status = internalFailure(error, "cdcm_scp_run");
    }
    scp->running.store(false);
    return status;
}

void cdcm_scp_stop(cdcm_scp *scp) {
    if (scp != nullptr)
        scp->stopRequested.store(true);
}

uint32_t cdcm_scp_aborted_at_stop(const cdcm_scp *scp) {
    return scp != nullptr ? scp->abortedAtStop.load() : 0;
}

uint16_t cdcm_scp_port(const cdcm_scp *scp) {
    return scp != nullptr ? scp->port : 0;
}

void cdcm_scp_free(cdcm_scp *scp) {
    try {
        delete scp;
    } catch (...) {
    }
}

} // extern "C"
