import Testing

@testable import TraceCheckCore

@Suite("Kernel models: names and releases")
struct KernelModelTests {
    @Test(
        "Expected model for a kernel release",
        arguments: [
            ("6.18.44-fc-v669", KernelModel.v6_18), ("6.18.2", .v6_18), ("6.7.0", .v6_18),
            ("6.6.0", .v6_6), ("6.1.0-50-amd64", .v5_19), ("5.19.0", .v5_19),
            ("5.18.3", .v5_18), ("5.17.0-rc5", .v5_9), ("5.10.0-32-amd64", .v5_9),
            ("5.9.1", .v5_9), ("5.8.1", .v5_8), ("v5.8", .v5_8),
        ] as [(String, KernelModel)])
    func expected(_ release: String, _ model: KernelModel) {
        #expect(KernelModel.expected(forKernelRelease: release) == model)
    }

    @Test("No model before 5.8 or for an unparsable release",
        arguments: ["4.9", "4.19.1", "5.7.19", "garbage", "", "6", "6.", ".6", "1234567.1"])
    func noModel(_ release: String) {
        #expect(KernelModel.expected(forKernelRelease: release) == nil)
    }

    @Test("First releases, names and titles")
    func names() {
        #expect(
            KernelModel.allCases.map(\.rawValue)
                == ["v5.8", "v5.9", "v5.18", "v5.19", "v6.6", "v6.18"])
        #expect(KernelModel.allCases.map { "\($0.firstRelease.major).\($0.firstRelease.minor)" }
            == ["5.8", "5.9", "5.18", "5.19", "6.6", "6.7"])
        #expect(KernelModel.v5_8.title == "v5.8 (pre-patch)")
        for model in KernelModel.allCases {
            #expect(model.title.hasPrefix(model.rawValue + " ("))
            #expect(KernelModel(rawValue: model.rawValue) == model)
        }
    }
}
