/// `tracecheck record …` captures; anything else checks traces.
@main
enum Entry {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "record" {
            RecordCommand.main(Array(arguments.dropFirst()))
        } else {
            TraceCheckCommand.main()
        }
    }
}
