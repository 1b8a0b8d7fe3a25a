// tls_check — a command-line harness for the SCP's DICOM TLS (cdcm_net.h), built by build.sh --tls.
//
//   tls_check serve --cert PEM --key PEM [--trusted PEM] [--require 0|1] [--port P] [--seconds S]
//                   [--acse-timeout S] [--ae TITLE] [--tmp DIR]
//       Starts the SCP on 127.0.0.1 (port 0 = a free one), prints "port=P" once it listens, then
//       one line per association callback: "association id=.. calling=.. called=.. tls=0|1
//       subject=<...|NULL> sha256=<...|NULL>", "store id=.. sop_class=..", "end id=.. aborted=..".
//       Accepts every association; C-STORE files are deleted and answered 0x0000. Runs for S seconds
//       (default 60) or until SIGINT/SIGTERM, then stops cleanly and prints "stopped".
//       Without --cert the SCP runs over plain TCP.
//   tls_check create [--cert PEM] [--key PEM] [--trusted PEM] [--require 0|1]
//       Only calls cdcm_scp_create with these settings; prints "ok" or "status=N message=...".
//       Exit status 0 when created.
//
// Output is line-buffered so that a script can wait for "port=".

#include "cdcm.h"
#include "cdcm_net.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace {

std::atomic<bool> gSignalled{false};

void onSignal(int) { gSignalled.store(true); }

const char *orNull(const char *text) { return text != nullptr ? text : "NULL"; }

int32_t onAssociation(void *, const cdcm_association_info *info, cdcm_reject *) {
    std::printf("association id=%llu calling=%s called=%s peer=%s tls=%d subject=%s sha256=%s\n",
                static_cast<unsigned long long>(info->association_id), info->calling_ae, info->called_ae,
                info->peer_host, static_cast<int>(info->tls), orNull(info->peer_certificate_subject),
                orNull(info->peer_certificate_sha256));
    return 1;
}

void onAssociationEnd(void *, uint64_t id, int32_t aborted) {
    std::printf("end id=%llu aborted=%d\n", static_cast<unsigned long long>(id), static_cast<int>(aborted));
}

uint16_t onStore(void *, uint64_t id, const char *path, const char *sopClass, const char *, const char *syntax,
                 char[65]) {
    std::printf("store id=%llu sop_class=%s syntax=%s\n", static_cast<unsigned long long>(id), sopClass, syntax);
    ::unlink(path);
    return 0x0000;
}

struct Options {
    std::string cert, key, trusted, ae = "IMAGINGINDEX", tmp = "/tmp";
    int require = 0;
    int port = 0;
    int seconds = 60;
    int acseTimeout = 10;
};

bool parse(int argc, char **argv, Options *o) {
    for (int i = 2; i < argc; ++i) {
        const std::string a = argv[i];
        if (i + 1 >= argc)
            return false;
        const char *v = argv[++i];
        if (a == "--cert") o->cert = v;
        else if (a == "--key") o->key = v;
        else if (a == "--trusted") o->trusted = v;
        else if (a == "--require") o->require = std::atoi(v);
        else if (a == "--port") o->port = std::atoi(v);
        else if (a == "--seconds") o->seconds = std::atoi(v);
        else if (a == "--acse-timeout") o->acseTimeout = std::atoi(v);
        else if (a == "--ae") o->ae = v;
        else if (a == "--tmp") o->tmp = v;
        else return false;
    }
    return true;
}

cdcm_scp_config makeConfig(const Options &o) {
    cdcm_scp_config config;
    std::memset(&config, 0, sizeof(config));
    config.ae_title = o.ae.c_str();
    config.bind_address = "127.0.0.1";
    config.port = static_cast<uint16_t>(o.port);
    config.max_receive_pdu = 65536;
    config.acse_timeout_seconds = static_cast<uint32_t>(o.acseTimeout);
    config.dimse_timeout_seconds = 30;
    config.max_associations = 8;
    config.temporary_folder = o.tmp.c_str();
    config.on_association = onAssociation;
    config.on_association_end = onAssociationEnd;
    config.on_store = onStore;
    config.tls_certificate_file = o.cert.empty() ? nullptr : o.cert.c_str();
    config.tls_private_key_file = o.key.empty() ? nullptr : o.key.c_str();
    config.tls_trusted_certificates_file = o.trusted.empty() ? nullptr : o.trusted.c_str();
    config.tls_require_client_certificate = o.require;
    return config;
}

} // namespace

int main(int argc, char **argv) {
    setvbuf(stdout, nullptr, _IOLBF, 0);
    Options o;
    if (argc < 2 || !parse(argc, argv, &o)) {
        std::fprintf(stderr, "usage: tls_check serve|create [--cert PEM --key PEM] [--trusted PEM] [--require 0|1] "
                             "[--port P] [--seconds S] [--acse-timeout S]\n");
        return 2;
    }
    const std::string mode = argv[1];
    cdcm_error error;
    if (cdcm_initialize(&error) != CDCM_OK) {
        std::printf("init failed: %s\n", error.message);
        return 1;
    }
    const cdcm_scp_config config = makeConfig(o);
    cdcm_scp *scp = nullptr;
    const int32_t status = cdcm_scp_create(&config, &scp, &error);
    if (status != CDCM_OK) {
        std::printf("status=%d message=%s\n", static_cast<int>(status), error.message);
        return 1;
    }
    if (mode == "create") {
        std::printf("ok\n");
        cdcm_scp_free(scp);
        return 0;
    }
    std::signal(SIGINT, onSignal);
    std::signal(SIGTERM, onSignal);
    std::printf("port=%u\n", static_cast<unsigned>(cdcm_scp_port(scp)));
    std::thread timer([scp, &o] {
        const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(o.seconds);
        while (!gSignalled.load() && std::chrono::steady_clock::now() < end)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        cdcm_scp_stop(scp);
    });
    const int32_t runStatus = cdcm_scp_run(scp, &error);
    timer.join();
    if (runStatus != CDCM_OK)
        std::printf("run failed: status=%d message=%s\n", static_cast<int>(runStatus), error.message);
    cdcm_scp_free(scp);
    std::printf("stopped\n");
    return runStatus == CDCM_OK ? 0 : 1;
}
