import ArgumentParser
import Testing

@testable import dnsflow

struct FlowsCommandTests {
    @Test func typeMapsToTheAPIsRecordType() throws {
        let command = try FlowsCommand.parse(["--type", "dnsTransaction", "--dns-id", "4242", "--stages"])
        #expect(command.stages)
        let url = try command.requestURL()
        #expect(url.hasPrefix("http://127.0.0.1:9000/api/v1/flows?recordType=dnsTransaction&dnsId=4242&"), "\(url)")
        #expect(try FlowsCommand.parse(["--type", "flow"]).requestURL().contains("recordType=flow&"))
        #expect(try !FlowsCommand.parse([]).requestURL().contains("recordType"))
    }

    @Test func anUnknownTypeIsRefusedWithTheChoices() {
        let error = #expect(throws: (any Error).self) { try FlowsCommand.parse(["--type", "dns"]) }
        #expect(
            error.map { FlowsCommand.message(for: $0) }?.contains("--type must be flow or dnsTransaction") == true,
            "\(String(describing: error))")
    }
}
