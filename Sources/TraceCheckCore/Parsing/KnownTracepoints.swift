/// Tracepoint names that, on a line without an ftrace prefix (a bpftrace `printf` line),
/// show that the input is a trace: the families the checker decodes (`EventName`) and the
/// other events the capture kits and kernels around them print (those in `traces/real`, the
/// kprobe names of the 5.10 and pre-patch captures, and tracegen's). Any `word: text` line
/// would otherwise pass for an event, and a README for a capture.
enum KnownTracepoints {
    static let otherNames: [StaticString] = [
        "mm_page_alloc", "mm_page_free", "mm_fault", "page_fault_user", "page_fault_kernel",
        "tlb_flush", "sched_process_exit", "sched_process_fork", "sched_switch", "sched_wakeup",
        "sys_enter", "sys_exit", "tracing_mark_write", "do_wp_page", "do_wp_page_r", "wp_page_copy",
        "wp_huge_pmd", "do_huge_pmd_wp_page", "do_huge_pmd_wp_page_r",
    ]

    /// True when the name is one of `otherNames`.
    static func contains(_ b: UnsafeRawBufferPointer, _ name: ByteRange) -> Bool {
        otherNames.contains { b.equals(name, $0) }
    }
}
