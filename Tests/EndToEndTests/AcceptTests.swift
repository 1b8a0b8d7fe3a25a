import Foundation
import Testing
import DicomTestSupport

/// A connection that opens and then sends nothing (a stuck client) takes nobody's turn: the
/// associations after it are served at once, and the server closes it after its ACSE timeout and
/// says so. So is one that speaks something else; a port probe (connect, close) is not logged.
@Suite struct AcceptTests {
    @Test func silentConnectionsDoNotHoldUpTheAssociationsAfterThem() throws {
        let dir = TemporaryDirectory("accept")
        let server = try ServerProcess(dataDirectory: dir.appending("data"), config: """
            { "dicom": { "aeTitle": "IMAGINGINDEX", "acseTimeout": 12,
                "peers": [ { "aeTitle": "VIEWER", "host": "127.0.0.1", "hospital": "Chợ Rẫy", "permissions": ["query"] } ] } }
            """)
        let silent = try (0..<3).map { _ in try RawConnection(port: server.port) }
        let http = try RawConnection(port: server.port)
        http.send("GET / HTTP/1.1\r\nHost: pacs\r\n\r\n")
        _ = try RawConnection(port: server.port)  // a probe: connected, closed at once
        // echoscu gives up when no A-ASSOCIATE-AC comes within 5 s. Had the server read each
        // request on its accept thread, the silent connections would hold it 12 s each.
        for _ in 0..<2 {
            let echo = try DcmtkTool.run("echoscu", ["-ta", "5", "-aet", "VIEWER", "-aec", "IMAGINGINDEX",
                                                     "127.0.0.1", String(server.port)])
            #expect(echo.status == 0, "\(echo.stderr)")
        }
        #expect(http.closedByPeer(within: 10), "a connection speaking HTTP was left open")
        for connection in silent {
            #expect(connection.closedByPeer(within: 60), "a silent connection was left open past the ACSE timeout")
        }
        #expect(server.stop() == 0, "\(server.log)")
        let log = server.log
        func count(_ text: String) -> Int { log.components(separatedBy: text).count - 1 }
        #expect(count("no A-ASSOCIATE-RQ within the ACSE timeout (12 s)") == 3, "\(log)")
        #expect(count("no valid A-ASSOCIATE-RQ") == 1, "\(log)")
        #expect(count("connection closed without an association") == 4, "\(log)")
    }

    /// On the TLS port: clients that start a handshake and stall (a ClientHello record header, then
    /// nothing) hold up neither the other clients' handshakes nor their associations.
    @Test func stalledTLSHandshakesDoNotHoldUpTheOthers() throws {
        let dir = TemporaryDirectory("accept-tls")
        let (server, certs) = try Self.tlsServer(dir, acseTimeout: 12)
        let stalled = try (0..<2).map { _ in try RawConnection(port: server.tlsPort) }
        for connection in stalled { connection.send(bytes: Self.clientHelloStart) }
        // Had the handshakes run under the receive lock, each stalled one would hold it until its
        // 12 s ran out, and echoscu would get its turn only after they were dropped.
        for _ in 0..<2 {
            let echo = try DcmtkTool.run("echoscu", ["+tla", "+cf", certs.appendingPathComponent("ca.pem").path, "-ta", "5",
                                                     "-aet", "VIEWER", "-aec", "IMAGINGINDEX", "127.0.0.1", String(server.tlsPort)])
            #expect(echo.status == 0, "\(echo.stderr)")
        }
        for connection in stalled {
            #expect(connection.isStillOpen, "the stalled handshakes were dropped before the others were served")
        }
        for connection in stalled {
            #expect(connection.closedByPeer(within: 60), "a stalled handshake was left open past the ACSE timeout")
        }
        #expect(server.stop() == 0, "\(server.log)")
        #expect(server.log.components(separatedBy: "TLS handshake failed: timed out").count - 1 == 2, "\(server.log)")
    }

    /// A stop is not held up by connections still waiting for their request or in a stalled TLS
    /// handshake (their ACSE timeout here: 10 minutes; the stop is given one).
    @Test func waitingConnectionsDoNotHoldUpTheShutdown() throws {
        let dir = TemporaryDirectory("accept-stop")
        let (server, _) = try Self.tlsServer(dir, acseTimeout: 600)
        let silent = try RawConnection(port: server.port)
        let stalled = try RawConnection(port: server.tlsPort)
        stalled.send(bytes: Self.clientHelloStart)
        Thread.sleep(forTimeInterval: 0.5)  // both taken by their threads by now
        #expect(server.stop(timeout: 60) == 0, "\(server.log)")
        _ = (silent, stalled)
    }

    /// A TLS handshake record header and the first byte of a ClientHello, then nothing.
    static let clientHelloStart: [UInt8] = [0x16, 0x03, 0x01, 0x00, 0xC8, 0x01]

    /// A server with DICOM TLS (certificates from AccessControlEndToEndTests) and this ACSE timeout.
    static func tlsServer(_ dir: TemporaryDirectory, acseTimeout: Int) throws -> (ServerProcess, URL) {
        let certs = dir.appending("certs")
        try FileManager.default.createDirectory(at: certs, withIntermediateDirectories: true)
        _ = try AccessControlEndToEndTests.makeCertificates(in: certs)
        let server = try ServerProcess(dataDirectory: dir.appending("data"), config: """
            { "dicom": { "aeTitle": "IMAGINGINDEX", "acseTimeout": \(acseTimeout), "shutdownGrace": 2,
                "peers": [ { "aeTitle": "VIEWER", "host": "127.0.0.1", "hospital": "Chợ Rẫy", "permissions": ["query"] } ],
                "tls": { "certificate": "\(certs.path)/server.pem", "key": "\(certs.path)/server.key", "port": 0 } } }
            """, dicomTLS: true)
        return (server, certs)
    }
}

/// A TCP connection to 127.0.0.1 that sends nothing unless told to.
final class RawConnection {
    let fd: Int32

    init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, connected == 0 else {
            if fd >= 0 { close(fd) }
            throw POSIXError(.ECONNREFUSED)
        }
    }

    func send(bytes: [UInt8]) {
        _ = bytes.withUnsafeBufferPointer { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
    }

    func send(_ text: String) {
        _ = text.utf8CString.withUnsafeBufferPointer { Glibc.send(fd, $0.baseAddress, $0.count - 1, 0) }
    }

    /// Neither closed by the other end nor carrying anything to read (checked without waiting).
    var isStillOpen: Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, 0) == 0
    }

    /// Whether the other end closed the connection (end of stream) within `seconds`.
    func closedByPeer(within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        var byte: UInt8 = 0
        while Date() < deadline {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 500) > 0 else { continue }
            let n = recv(fd, &byte, 1, 0)
            if n <= 0 { return true }  // end of stream, or reset
        }
        return false
    }

    deinit { close(fd) }
}
