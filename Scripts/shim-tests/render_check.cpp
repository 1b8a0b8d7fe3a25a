// render_check — a command-line harness for the shim's renderer (cdcm_render.h), built by build.sh.
//
//   render_check render FILE [--max N] [--frame F] [--window C W] [--out PREFIX] [--memory] [--level L]
//       Renders one frame; prints one line of key=value (outcome, size, window used, detail or error);
//       with --out writes PREFIX.pnm (binary PGM/PPM) and PREFIX.png.
//   render_check compare A.pnm B.pnm [--inverse]
//       Prints the largest difference and how many samples differ by more than 2 (--inverse: compares A
//       with 255 - B). Exit status 0 when both have the same size, 1 otherwise.
//   render_check sweep FILE...
//       Renders every file with the default options from the path and from memory, checks both give the
//       same pixels and that PNG encoding works; prints one line per file.
//   render_check bench FILE [--max N] [--threads T] [--seconds S] [--level L] [--memory] [--no-png]
//       Renders + PNG-encodes the file over and over in T threads; prints renders per second and the
//       process CPU time per render.
//   render_check stress FILE... [--threads T] [--seconds S]
//       Renders all files from T threads at once (from the path and from memory, in different orders)
//       and checks every result equals a single-threaded reference rendering.
//
// Patient data: nothing read from the files is printed except what the renderer reports.

#include "cdcm.h"
#include "cdcm_render.h"

#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

namespace {

const char *outcomeName(int32_t outcome) {
    switch (outcome) {
    case CDCM_RENDER_IMAGE: return "image";
    case CDCM_RENDER_NO_PIXELS: return "no_pixels";
    case CDCM_RENDER_VIDEO: return "video";
    case CDCM_RENDER_UNSUPPORTED: return "unsupported";
    }
    return "?";
}

const char *windowName(int32_t source) {
    switch (source) {
    case CDCM_WINDOW_NONE: return "none";
    case CDCM_WINDOW_CALLER: return "caller";
    case CDCM_WINDOW_FILE: return "file";
    case CDCM_WINDOW_VOI_LUT: return "voilut";
    case CDCM_WINDOW_AUTO: return "auto";
    }
    return "?";
}

std::vector<uint8_t> readAll(const char *path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool writeFile(const std::string &path, const void *data, size_t size, const std::string &header = "") {
    FILE *f = std::fopen(path.c_str(), "wb");
    if (f == nullptr)
        return false;
    bool ok = std::fwrite(header.data(), 1, header.size(), f) == header.size() &&
              std::fwrite(data, 1, size, f) == size;
    return std::fclose(f) == 0 && ok;
}

struct Pnm {
    int width = 0, height = 0, channels = 0;
    std::vector<uint8_t> data;
};

bool readPnm(const char *path, Pnm *pnm) {
    std::vector<uint8_t> bytes = readAll(path);
    size_t p = 0;
    auto token = [&]() -> std::string {
        while (p < bytes.size()) {
            if (bytes[p] == '#') {
                while (p < bytes.size() && bytes[p] != '\n')
                    ++p;
            } else if (std::isspace(bytes[p])) {
                ++p;
            } else {
                break;
            }
        }
        std::string t;
        while (p < bytes.size() && !std::isspace(bytes[p]))
            t += char(bytes[p++]);
        return t;
    };
    const std::string magic = token();
    if (magic != "P5" && magic != "P6")
        return false;
    pnm->channels = magic == "P5" ? 1 : 3;
    pnm->width = std::atoi(token().c_str());
    pnm->height = std::atoi(token().c_str());
    const int maxval = std::atoi(token().c_str());
    if (maxval != 255)
        return false;
    ++p; // the single whitespace after maxval
    const size_t n = size_t(pnm->width) * pnm->height * pnm->channels;
    if (bytes.size() < p + n)
        return false;
    pnm->data.assign(bytes.begin() + p, bytes.begin() + p + n);
    return true;
}

struct Options {
    cdcm_render_options render;
    std::string out;
    bool memory = false;
    int level = 1;
    int threads = 1;
    double seconds = 3.0;
    bool inverse = false;
    bool png = true;
};

bool parseOptions(int argc, char **argv, int start, Options *o, std::vector<const char *> *positional) {
    cdcm_render_options_init(&o->render);
    for (int i = start; i < argc; ++i) {
        const std::string a = argv[i];
        auto need = [&](int n) { return i + n < argc; };
        if (a == "--max" && need(1)) o->render.max_size = uint32_t(std::atoi(argv[++i]));
        else if (a == "--frame" && need(1)) o->render.frame = std::atoi(argv[++i]);
        else if (a == "--window" && need(2)) {
            o->render.use_window = 1;
            o->render.window_center = std::atof(argv[++i]);
            o->render.window_width = std::atof(argv[++i]);
        } else if (a == "--out" && need(1)) o->out = argv[++i];
        else if (a == "--memory") o->memory = true;
        else if (a == "--inverse") o->inverse = true;
        else if (a == "--no-png") o->png = false;
        else if (a == "--level" && need(1)) o->level = std::atoi(argv[++i]);
        else if (a == "--threads" && need(1)) o->threads = std::atoi(argv[++i]);
        else if (a == "--seconds" && need(1)) o->seconds = std::atof(argv[++i]);
        else if (a.size() > 2 && a[0] == '-' && a[1] == '-') {
            std::fprintf(stderr, "unknown option %s\n", a.c_str());
            return false;
        } else positional->push_back(argv[i]);
    }
    return true;
}

int32_t renderOnce(const char *path, const std::vector<uint8_t> *bytes, const cdcm_render_options &options,
                   cdcm_rendered *r, cdcm_error *e) {
    if (bytes != nullptr)
        return cdcm_render_memory(bytes->data(), bytes->size(), &options, r, e);
    return cdcm_render_file(path, &options, r, e);
}

void printResult(const char *path, int32_t status, const cdcm_rendered &r, const cdcm_error &e) {
    if (status != CDCM_OK) {
        std::printf("file=%s status=%d error=\"%s\"\n", path, status, e.message);
        return;
    }
    std::printf("file=%s status=0 outcome=%s width=%u height=%u channels=%u source=%ux%u frames=%u frame=%u "
                "window=%s center=%.17g width_w=%.17g detail=\"%s\"\n",
                path, outcomeName(r.outcome), r.width, r.height, r.channels, r.source_columns, r.source_rows,
                r.frame_count, r.frame_rendered, windowName(r.window_source), r.window_center, r.window_width,
                r.detail);
}

int commandRender(int argc, char **argv) {
    Options o;
    std::vector<const char *> files;
    if (!parseOptions(argc, argv, 2, &o, &files) || files.size() != 1) {
        std::fprintf(stderr, "usage: render_check render FILE [options]\n");
        return 2;
    }
    std::vector<uint8_t> bytes;
    if (o.memory)
        bytes = readAll(files[0]);
    cdcm_rendered r;
    cdcm_error e;
    const int32_t status = renderOnce(files[0], o.memory ? &bytes : nullptr, o.render, &r, &e);
    printResult(files[0], status, r, e);
    if (status == CDCM_OK && r.outcome == CDCM_RENDER_IMAGE && !o.out.empty()) {
        const std::string header = std::string(r.channels == 1 ? "P5" : "P6") + "\n" + std::to_string(r.width) + " " +
                                   std::to_string(r.height) + "\n255\n";
        if (!writeFile(o.out + ".pnm", r.pixels, size_t(r.width) * r.height * r.channels, header))
            std::fprintf(stderr, "cannot write %s.pnm\n", o.out.c_str());
        uint8_t *png = nullptr;
        size_t length = 0;
        cdcm_error pe;
        if (cdcm_png_encode(r.pixels, r.width, r.height, r.channels, o.level, &png, &length, &pe) != CDCM_OK)
            std::fprintf(stderr, "PNG: %s\n", pe.message);
        else if (!writeFile(o.out + ".png", png, length))
            std::fprintf(stderr, "cannot write %s.png\n", o.out.c_str());
        cdcm_png_free(png);
    }
    cdcm_rendered_free(&r);
    return status == CDCM_OK ? 0 : 1;
}

int commandCompare(int argc, char **argv) {
    Options o;
    std::vector<const char *> files;
    if (!parseOptions(argc, argv, 2, &o, &files) || files.size() != 2) {
        std::fprintf(stderr, "usage: render_check compare A.pnm B.pnm [--inverse]\n");
        return 2;
    }
    Pnm a, b;
    if (!readPnm(files[0], &a) || !readPnm(files[1], &b)) {
        std::printf("compare: cannot read %s or %s\n", files[0], files[1]);
        return 2;
    }
    if (a.width != b.width || a.height != b.height || a.channels != b.channels) {
        std::printf("compare: size differs: %dx%dx%d vs %dx%dx%d\n", a.width, a.height, a.channels, b.width,
                    b.height, b.channels);
        return 1;
    }
    int maxDiff = 0;
    size_t over2 = 0;
    double sum = 0;
    for (size_t i = 0; i < a.data.size(); ++i) {
        const int bv = o.inverse ? 255 - b.data[i] : b.data[i];
        const int d = std::abs(int(a.data[i]) - bv);
        maxDiff = std::max(maxDiff, d);
        over2 += d > 2;
        sum += d;
    }
    std::printf("compare: size=%dx%dx%d max_diff=%d over2=%zu mean_diff=%.4f\n", a.width, a.height, a.channels, maxDiff,
                over2, a.data.empty() ? 0.0 : sum / double(a.data.size()));
    return 0;
}

int commandSweep(int argc, char **argv) {
    Options o;
    std::vector<const char *> files;
    if (!parseOptions(argc, argv, 2, &o, &files)) {
        std::fprintf(stderr, "usage: render_check sweep FILE...\n");
        return 2;
    }
    int problems = 0;
    for (const char *path : files) {
        cdcm_rendered r, m;
        cdcm_error e, me;
        const int32_t status = cdcm_render_file(path, &o.render, &r, &e);
        const std::vector<uint8_t> bytes = readAll(path);
        const int32_t mstatus = cdcm_render_memory(bytes.data(), bytes.size(), &o.render, &m, &me);
        printResult(path, status, r, e);
        bool same = status == mstatus && r.outcome == m.outcome && r.width == m.width && r.height == m.height &&
                    r.channels == m.channels;
        if (same && r.pixels != nullptr)
            same = std::memcmp(r.pixels, m.pixels, size_t(r.width) * r.height * r.channels) == 0;
        if (!same) {
            std::printf("  MISMATCH between file and memory rendering (memory: status=%d \"%s\")\n", mstatus, me.message);
            ++problems;
        }
        if (status == CDCM_OK && r.outcome == CDCM_RENDER_IMAGE) {
            uint8_t *png = nullptr;
            size_t length = 0;
            cdcm_error pe;
            if (cdcm_png_encode(r.pixels, r.width, r.height, r.channels, o.level, &png, &length, &pe) != CDCM_OK) {
                std::printf("  PNG FAILED: %s\n", pe.message);
                ++problems;
            }
            cdcm_png_free(png);
        }
        cdcm_rendered_free(&r);
        cdcm_rendered_free(&m);
    }
    std::printf("sweep: %zu files, %d problems\n", files.size(), problems);
    return problems == 0 ? 0 : 1;
}

int commandBench(int argc, char **argv) {
    Options o;
    std::vector<const char *> files;
    if (!parseOptions(argc, argv, 2, &o, &files) || files.size() != 1 || o.threads < 1) {
        std::fprintf(stderr, "usage: render_check bench FILE [--max N] [--threads T] [--seconds S] [--level L] [--memory]\n");
        return 2;
    }
    const std::vector<uint8_t> bytes = readAll(files[0]);
    std::atomic<long> done{0};
    std::atomic<long> failures{0};
    std::atomic<size_t> pngBytes{0};
    std::atomic<bool> stop{false};
    auto cpuSeconds = []() {
        struct rusage usage;
        getrusage(RUSAGE_SELF, &usage);
        return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
               double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    };
    const double cpuStart = cpuSeconds();
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int t = 0; t < o.threads; ++t) {
        threads.emplace_back([&]() {
            while (!stop.load(std::memory_order_relaxed)) {
                cdcm_rendered r;
                cdcm_error e;
                int32_t status = renderOnce(files[0], o.memory ? &bytes : nullptr, o.render, &r, &e);
                if (status == CDCM_OK && r.outcome == CDCM_RENDER_IMAGE && o.png) {
                    uint8_t *png = nullptr;
                    size_t length = 0;
                    status = cdcm_png_encode(r.pixels, r.width, r.height, r.channels, o.level, &png, &length, &e);
                    pngBytes += length;
                    cdcm_png_free(png);
                }
                if (status != CDCM_OK)
                    ++failures;
                cdcm_rendered_free(&r);
                ++done;
            }
        });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
    stop = true;
    for (std::thread &t : threads)
        t.join();
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double cpu = cpuSeconds() - cpuStart;
    const long n = done.load();
    // cpu_ms_per_render is less sensitive to other load on the machine than the wall-clock rate.
    std::printf("bench: %s threads=%d max=%u level=%d %s renders=%ld failures=%ld seconds=%.2f renders_per_s=%.1f "
                "cpu_ms_per_render=%.3f png_avg_bytes=%.0f\n",
                files[0], o.threads, o.render.max_size, o.level, o.memory ? "memory" : "file", n, failures.load(), elapsed,
                double(n) / elapsed, n > 0 ? 1000.0 * cpu / double(n) : 0.0, n > 0 ? double(pngBytes.load()) / double(n) : 0.0);
    return failures.load() == 0 ? 0 : 1;
}

// Renders every file once (the reference), then again from T threads at once, each thread walking the
// files in a different order, and checks every result equals the reference (thread safety of the shim).
int commandStress(int argc, char **argv) {
    Options o;
    std::vector<const char *> files;
    if (!parseOptions(argc, argv, 2, &o, &files) || files.empty() || o.threads < 1) {
        std::fprintf(stderr, "usage: render_check stress FILE... [--threads T] [--seconds S] [options]\n");
        return 2;
    }
    struct Reference {
        int32_t status;
        int32_t outcome;
        std::vector<uint8_t> pixels;
    };
    std::vector<Reference> reference;
    for (const char *path : files) {
        cdcm_rendered r;
        cdcm_error e;
        const int32_t status = cdcm_render_file(path, &o.render, &r, &e);
        reference.push_back({status, r.outcome,
                             r.pixels != nullptr ? std::vector<uint8_t>(r.pixels, r.pixels + size_t(r.width) * r.height * r.channels)
                                                 : std::vector<uint8_t>()});
        cdcm_rendered_free(&r);
    }
    std::atomic<long> done{0};
    std::atomic<long> mismatches{0};
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < o.threads; ++t) {
        threads.emplace_back([&, t]() {
            size_t i = size_t(t) * 7919;
            while (!stop.load(std::memory_order_relaxed)) {
                const size_t k = (i++ * 31) % files.size();
                cdcm_rendered r;
                cdcm_error e;
                const int32_t status = (i & 1) ? cdcm_render_file(files[k], &o.render, &r, &e)
                                               : [&]() {
                                                     const std::vector<uint8_t> bytes = readAll(files[k]);
                                                     return cdcm_render_memory(bytes.data(), bytes.size(), &o.render, &r, &e);
                                                 }();
                const Reference &ref = reference[k];
                const size_t n = size_t(r.width) * r.height * r.channels;
                if (status != ref.status || (status == CDCM_OK && r.outcome != ref.outcome) || n != ref.pixels.size() ||
                    (n > 0 && std::memcmp(r.pixels, ref.pixels.data(), n) != 0)) {
                    if (mismatches++ < 5)
                        std::printf("stress: MISMATCH on %s\n", files[k]);
                }
                if (r.pixels != nullptr) {
                    uint8_t *png = nullptr;
                    size_t length = 0;
                    cdcm_png_encode(r.pixels, r.width, r.height, r.channels, o.level, &png, &length, &e);
                    cdcm_png_free(png);
                }
                cdcm_rendered_free(&r);
                ++done;
            }
        });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
    stop = true;
    for (std::thread &t : threads)
        t.join();
    std::printf("stress: %zu files, %d threads, %ld renders, %ld mismatches\n", files.size(), o.threads, done.load(),
                mismatches.load());
    return mismatches.load() == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char **argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: render_check render|compare|sweep|bench|stress ...\n");
        return 2;
    }
    const std::string command = argv[1];
    if (command == "render") return commandRender(argc, argv);
    if (command == "compare") return commandCompare(argc, argv);
    if (command == "sweep") return commandSweep(argc, argv);
    if (command == "bench") return commandBench(argc, argv);
    if (command == "stress") return commandStress(argc, argv);
    std::fprintf(stderr, "unknown command %s\n", command.c_str());
    return 2;
}
