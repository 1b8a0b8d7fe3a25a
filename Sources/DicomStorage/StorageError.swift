/// The one error type of the file store: a code, a message (paths only, never patient data)
/// and the errno behind it.
public struct StorageError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// ENOSPC / EDQUOT: the disk is full.
        case outOfSpace
        /// Any other I/O failure (permissions, read-only file system ...).
        case io
        /// The file is not where the index says.
        case notFound
    }

    public let code: Code
    public let message: String
    public let errno: Int32?

    public init(_ code: Code, _ message: String, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
    }

    static func fromErrno(_ err: Int32, _ what: String) -> StorageError {
        let text = String(cString: strerror(err))
        let code: Code = (err == ENOSPC || err == EDQUOT || err == EFBIG) ? .outOfSpace : (err == ENOENT ? .notFound : .io)
        return StorageError(code, "\(what): \(text)", errno: err)
    }

    public var description: String { message }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
