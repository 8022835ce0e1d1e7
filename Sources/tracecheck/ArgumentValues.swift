import ArgumentParser
import TraceCheckCore

// The library's value types, as ArgumentParser values: a wrong word is refused while parsing,
// with the known values in the message, and `--help` and the completion scripts list them.

/// `--model v6.18` or `--model 6.18`.
extension KernelModel: ExpressibleByArgument {
    public init?(argument: String) {
        self.init(rawValue: argument.hasPrefix("v") ? argument : "v" + argument)
    }
}

/// `--assume no-ksm`.
extension Assumption: ExpressibleByArgument {}

extension PipelineMode: ExpressibleByArgument {}

/// A `--model` value: one model, or `all` of them.
enum ModelChoice: ExpressibleByArgument, Equatable {
    case one(KernelModel)
    case all

    init?(argument: String) {
        if argument == "all" {
            self = .all
        } else if let model = KernelModel(argument: argument) {
            self = .one(model)
        } else {
            return nil
        }
    }

    static var allValueStrings: [String] { KernelModel.allValueStrings + ["all"] }
    static var defaultCompletionKind: CompletionKind { .list(allValueStrings) }
}

/// A page frame number: hex with `0x` (as the reports print it) or decimal.
struct Pfn: ExpressibleByArgument, Equatable {
    var value: UInt64

    init(_ value: UInt64) { self.value = value }

    init?(argument: String) {
        let hex = argument.hasPrefix("0x") || argument.hasPrefix("0X")
        guard let value = hex ? UInt64(argument.dropFirst(2), radix: 16) : UInt64(argument) else { return nil }
        self.value = value
    }
}
