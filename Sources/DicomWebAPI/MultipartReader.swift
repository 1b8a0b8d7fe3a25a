import Foundation
import NIOCore

/// Splits a multipart/related body (RFC 2046) into parts as it streams in, writing each part's
/// body to a file: a STOW-RS request of any size is never held in memory.
struct MultipartReader {
    struct Part {
        var headers: [String: String]  // lower-cased names
        var path: String
        var size: Int
    }

    enum State { case preamble, headers, body, done }

    let delimiter: [UInt8]      // "\r\n--boundary"
    let makePath: () -> String
    private(set) var state = State.preamble
    private var buffer: [UInt8] = []
    private var current: (headers: [String: String], fd: Int32, path: String, size: Int)?

    init(boundary: String, makePath: @escaping () -> String) {
        delimiter = Array("\r\n--\(boundary)".utf8)
        self.makePath = makePath
        // The body starts with "--boundary" (no CRLF before the first delimiter).
        buffer = Array("\r\n".utf8)
    }

    /// The boundary parameter of a multipart Content-Type.
    static func boundary(of contentType: String) -> String? {
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2, pair[0].lowercased() == "boundary" {
                return pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
        }
        return nil
    }

    /// Feeds bytes; returns the parts completed by them.
    mutating func feed(_ bytes: ByteBuffer) throws(MultipartError) -> [Part] {
        buffer.append(contentsOf: bytes.readableBytesView)
        var finished: [Part] = []
        while true {
            switch state {
            case .done:
                buffer.removeAll()
                return finished
            case .preamble:
                guard let at = find(delimiter) else { keepTail(); return finished }
                buffer.removeFirst(at + delimiter.count)
                state = .headers
            case .headers:
                // After a delimiter: "--" ends the body, else the line ends and headers follow.
                if buffer.count >= 2, buffer[0] == 0x2D, buffer[1] == 0x2D { state = .done; continue }
                guard let end = find(Array("\r\n\r\n".utf8)) else {
                    if buffer.count > 64 * 1024 { throw MultipartError("part headers longer than 64 KiB") }
                    return finished
                }
                let text = String(decoding: buffer[..<end], as: UTF8.self)
                buffer.removeFirst(end + 4)
                var headers: [String: String] = [:]
                for line in text.split(separator: "\r\n") {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers[line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()] =
                        line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                let path = makePath()
                let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
                guard fd >= 0 else { throw MultipartError("cannot create a temporary file (\(String(cString: strerror(errno))))") }
                current = (headers, fd, path, 0)
                state = .body
            case .body:
                if let at = find(delimiter) {
                    try write(count: at)
                    buffer.removeFirst(delimiter.count)
                    let part = current!
                    close(part.fd)
                    current = nil
                    finished.append(Part(headers: part.headers, path: part.path, size: part.size))
                    state = .headers
                } else {
                    // Everything but a possible start of the delimiter can be written.
                    try write(count: max(0, buffer.count - (delimiter.count - 1)))
                    return finished
                }
            }
        }
    }

    /// Closes and removes a part left open by a truncated body; true when the body was complete.
    mutating func finish() -> Bool {
        if let part = current {
            close(part.fd)
            unlink(part.path)
            current = nil
        }
        return state == .done
    }

    private mutating func write(count: Int) throws(MultipartError) {
        guard count > 0, let part = current else { return }
        let failure: Int32 = buffer.withUnsafeBytes { raw in
            var written = 0
            while written < count {
                let n = Glibc.write(part.fd, raw.baseAddress! + written, count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                written += n
            }
            return 0
        }
        if failure != 0 { throw MultipartError(failure == ENOSPC ? "storage full" : "cannot write a temporary file") }
        current!.size += count
        buffer.removeFirst(count)
    }

    private mutating func keepTail() {
        if buffer.count > delimiter.count { buffer.removeFirst(buffer.count - delimiter.count) }
    }

    /// The first position of `needle` in the buffer (memchr for its first byte, then compare).
    private func find(_ needle: [UInt8]) -> Int? {
        guard buffer.count >= needle.count, let first = needle.first else { return nil }
        return buffer.withUnsafeBytes { hay -> Int? in
            needle.withUnsafeBytes { n -> Int? in
                let base = hay.baseAddress!
                var at = 0
                let last = hay.count - n.count
                while at <= last {
                    guard let hit = memchr(base + at, Int32(first), last - at + 1) else { return nil }
                    let position = base.distance(to: UnsafeRawPointer(hit))
                    if memcmp(base + position, n.baseAddress!, n.count) == 0 { return position }
                    at = position + 1
                }
                return nil
            }
        }
    }
}

struct MultipartError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
