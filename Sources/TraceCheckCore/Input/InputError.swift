/// Why a trace input could not be read to its end. Every case names the input as the
/// user gave it (`"-"` for standard input); `message` is the one sentence for stderr.
/// The CLI maps every case to exit status 2.
public enum InputError: Error, Equatable, Sendable {
    /// `open` failed (or the path is a directory).
    case cannotOpen(path: String, errno: Int32, reason: String)
    /// `read` failed part-way.
    case readError(path: String, errno: Int32, reason: String)
    /// libzstd rejected the data in the `frame`-th frame (from 1, skippable frames counted),
    /// which starts `frameOffset` bytes into the file. `line` is the last complete
    /// decompressed line before the damage, when the reader knows it.
    case corrupt(path: String, zstdError: String, frame: Int, frameOffset: Int, line: Int?)
    /// A frame declares a window larger than the decoder accepts (2 GiB, `zstd --long=31`),
    /// or its window could not be allocated.
    case frameTooLarge(path: String, frame: Int, frameOffset: Int, zstdError: String)
    /// A later input's metadata header names another kernel than the one in use.
    case mixedKernels(path: String, kernel: String, earlier: String)
    /// The input ended inside a zstd frame: the last frame is incomplete. `frame` (from 1) and
    /// `frameOffset` say which frame was cut; `line` is the last complete decompressed line
    /// before the cut, when the reader knows it.
    case truncated(path: String, compressedBytesRead: Int, frame: Int? = nil, frameOffset: Int? = nil, line: Int? = nil)
    /// libzstd could not allocate its decoder.
    case outOfMemory(path: String)

    /// The input as the user named it.
    public var path: String {
        switch self {
        case .cannotOpen(let path, _, _), .readError(let path, _, _),
            .corrupt(let path, _, _, _, _), .truncated(let path, _, _, _, _), .outOfMemory(let path),
            .frameTooLarge(let path, _, _, _), .mixedKernels(let path, _, _):
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
        case .corrupt(_, let zstdError, let frame, let offset, let line):
            let reached = line.map { ", after decompressed line \($0)" } ?? ""
            return "\(name): corrupt zstd data in frame \(frame) (starting at compressed byte \(offset))\(reached): \(zstdError)"
        case .frameTooLarge(_, let frame, let offset, let zstdError):
            return "\(name): zstd frame \(frame) (at compressed byte \(offset)) needs more memory than allowed: "
                + "its window is over 2 GiB (zstd --long=31 is the most accepted) or could not be allocated (\(zstdError))"
        case .mixedKernels(_, let kernel, let earlier):
            return "\(name): its header says kernel \(kernel), but an earlier input said \(earlier); "
                + "captures of different kernels are not checked together (check each on its own, or give --kernel)"
        case .truncated(_, let count, let frame, let offset, let line):
            let which = frame.map { f in " (frame \(f)" + (offset.map { ", starting at compressed byte \($0)" } ?? "") + ")" } ?? ""
            let reached = line.map { ", after decompressed line \($0)" } ?? ""
            return "\(name): truncated zstd stream: the last frame is incomplete\(which)\(reached) (read \(count) compressed bytes)"
        case .outOfMemory:
            return "\(name): cannot allocate the zstd decoder"
        }
    }

    /// The same error, knowing the last complete line read before it.
    func reached(line: Int) -> InputError {
        switch self {
        case .corrupt(let path, let zstdError, let frame, let offset, nil):
            return .corrupt(path: path, zstdError: zstdError, frame: frame, frameOffset: offset, line: line)
        case .truncated(let path, let count, let frame, let offset, nil):
            return .truncated(path: path, compressedBytesRead: count, frame: frame, frameOffset: offset, line: line)
        default:
            return self
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
