/// Why a trace input could not be read to its end. Every case names the input as the
/// user gave it (`"-"` for standard input); `message` is the one sentence for stderr.
/// The CLI maps every case to exit status 2.
public enum InputError: Error, Equatable, Sendable {
    /// `open` failed (or the path is a directory).
    case cannotOpen(path: String, errno: Int32, reason: String)
    /// `read` failed part-way.
    case readError(path: String, errno: Int32, reason: String)
    /// libzstd rejected the data. `compressedOffset` is approximately where, in bytes
    /// from the start of the file (libzstd consumes a block at a time).
    case corrupt(path: String, zstdError: String, compressedOffset: Int)
    /// The input ended inside a zstd frame: the last frame is incomplete.
    case truncated(path: String, compressedBytesRead: Int)
    /// libzstd could not allocate its decoder.
    case outOfMemory(path: String)

    /// The input as the user named it.
    public var path: String {
        switch self {
        case .cannotOpen(let path, _, _), .readError(let path, _, _),
            .corrupt(let path, _, _), .truncated(let path, _), .outOfMemory(let path):
            return path
        }
    }

    /// One clear sentence naming the file, e.g.
    /// `capture.zst: truncated zstd stream: the last frame is incomplete (read 6336 compressed bytes)`.
    public var message: String {
        let name = InputError.displayName(path)
        switch self {
        case .cannotOpen(_, let code, let reason):
            return "\(name): cannot open: \(reason) (errno \(code))"
        case .readError(_, let code, let reason):
            return "\(name): read error: \(reason) (errno \(code))"
        case .corrupt(_, let zstdError, let offset):
            return "\(name): corrupt zstd data near compressed byte \(offset): \(zstdError)"
        case .truncated(_, let count):
            return "\(name): truncated zstd stream: the last frame is incomplete (read \(count) compressed bytes)"
        case .outOfMemory:
            return "\(name): cannot allocate the zstd decoder"
        }
    }

    /// `"-"` is shown as `<stdin>`.
    static func displayName(_ path: String) -> String {
        path == "-" ? "<stdin>" : path
    }
}

extension InputError: CustomStringConvertible {
    public var description: String { message }
}
