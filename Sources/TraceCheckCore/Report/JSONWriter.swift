/// A minimal JSON object builder for our own flat documents: keys in insertion order (stable
/// output for golden tests and diffs); keys and strings escaped by `JSONString.write`.
public struct JSONObject {
    private var body = ""
    private var first = true

    public init() {}

    private mutating func key(_ k: String) {
        if first { first = false } else { body += "," }
        JSONObject.appendEscaped(k, to: &body)
        body += ":"
    }

    public mutating func string(_ k: String, _ v: String?) {
        key(k)
        if let v { JSONObject.appendEscaped(v, to: &body) } else { body += "null" }
    }

    public mutating func int<T: BinaryInteger>(_ k: String, _ v: T?) {
        key(k)
        if let v { body += String(v) } else { body += "null" }
    }

    public mutating func bool(_ k: String, _ v: Bool?) {
        key(k)
        if let v { body += v ? "true" : "false" } else { body += "null" }
    }

    public mutating func double(_ k: String, _ v: Double) {
        key(k)
        body += v.isFinite ? String(v) : "null"
    }

    public mutating func strings(_ k: String, _ v: [String]) {
        key(k)
        body += "["
        for (i, s) in v.enumerated() {
            if i > 0 { body += "," }
            JSONObject.appendEscaped(s, to: &body)
        }
        body += "]"
    }

    public mutating func object(_ k: String, _ v: JSONObject) {
        key(k)
        body += v.text
    }

    public mutating func objects(_ k: String, _ v: [JSONObject]) {
        key(k)
        body += "["
        body += v.map(\.text).joined(separator: ",")
        body += "]"
    }

    public var text: String { "{" + body + "}" }

    static func appendEscaped(_ s: String, to out: inout String) {
        var s = s
        s.withUTF8 { u in
            let escaped = [UInt8](unsafeUninitializedCapacity: JSONString.maxBytes(u.count)) { buffer, count in
                count = JSONString.write(u, to: buffer.baseAddress!)
            }
            out += String(decoding: escaped, as: UTF8.self)
        }
    }
}
