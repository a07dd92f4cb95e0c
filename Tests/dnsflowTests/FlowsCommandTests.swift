import ArgumentParser
import Testing

@testable import dnsflow

struct FlowsCommandTests {
    @Test func lookupsComeFromTheLookupsEndpointAndFlowsFromTheFlowsOne() throws {
        let command = try FlowsCommand.parse(["--type", "dnsTransaction", "--dns-id", "4242", "--stages"])
        #expect(command.stages)
        let url = try command.requestURL()
        #expect(url.hasPrefix("http://127.0.0.1:9000/api/v1/lookups?dnsId=4242&"), "\(url)")
        #expect(try FlowsCommand.parse([]).requestURL().hasPrefix("http://127.0.0.1:9000/api/v1/lookups?limit=100"))
        #expect(try FlowsCommand.parse(["--type", "flow"]).requestURL().contains("/api/v1/flows?recordType=flow&"))
        let all = try FlowsCommand.parse(["--type", "all"]).requestURL()
        #expect(all.contains("/api/v1/flows?") && !all.contains("recordType"))
    }

    @Test func theLookupFiltersAndFollowsSinceReachTheURL() throws {
        let command = try FlowsCommand.parse([
            "--errors", "--client", "checkout", "--comm", "curl", "--server", "10.96.0.10", "--sort", "latency",
            "--since", "1h", "--output", "csv",
        ])
        #expect(command.output == .csv)
        let url = try command.requestURL()
        #expect(url.contains("errors=true&client=checkout&comm=curl&server=10.96.0.10&since=1h&sort=latency"), "\(url)")
        #expect(try command.requestURL(since: "1700000000000").contains("since=1700000000000&"))
        #expect(throws: (any Error).self) { try FlowsCommand.parse(["--follow", "--sort", "latency"]) }
        #expect(throws: (any Error).self) { try FlowsCommand.parse(["--output", "yaml"]) }
    }

    @Test func anUnknownTypeIsRefusedWithTheChoices() {
        let error = #expect(throws: (any Error).self) { try FlowsCommand.parse(["--type", "dns"]) }
        let choices = "--type must be flow or dnsTransaction or dnsResolution or dnsAlert or all"
        #expect(
            error.map { FlowsCommand.message(for: $0) }?.contains(choices) == true,
            "\(String(describing: error))")
    }
}
