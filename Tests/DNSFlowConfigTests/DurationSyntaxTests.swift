import DNSFlowConfig
import Testing

struct DurationSyntaxTests {
    @Test(arguments: [
        ("500ms", Duration.milliseconds(500)), ("5s", .seconds(5)), ("1m30s", .seconds(90)), ("2h", .seconds(7200)),
        ("7d", .seconds(604_800)), ("250us", .microseconds(250)), ("1.5s", .milliseconds(1500)), ("0s", .zero),
    ])
    func parses(text: String, expected: Duration) {
        #expect(DurationSyntax.parse(text) == expected)
    }

    @Test(arguments: ["", "5", "s", "-5s", "5 s", "5x", "1e3s", "99999999999d"])
    func rejects(text: String) {
        #expect(DurationSyntax.parse(text) == nil)
    }
}
