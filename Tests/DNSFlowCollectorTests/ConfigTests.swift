import Testing

@testable import DNSFlowCollector

@Suite struct ConfigTests {
    @Test func readsEveryKey() throws {
        let config = try CollectorConfig.parse(
            yaml: """
                listen: 127.0.0.1:9100
                ipfix: {listen: "[::1]:4740", transport: [udp]}
                db: /tmp/x.sqlite
                retention: 2h
                auth: {token: abc}
                ingest: {queueSize: 7}
                """
        )
        #expect(config.listen == HostPort(host: "127.0.0.1", port: 9100))
        #expect(config.ipfix.listen == HostPort(host: "::1", port: 4740))
        #expect(config.ipfix.transports == [.udp])
        #expect(config.db == "/tmp/x.sqlite")
        #expect(config.retention == .seconds(7200))
        #expect(config.authToken == "abc")
        #expect(config.queueSize == 7)
    }

    @Test func emptyDocumentMeansDefaults() throws {
        #expect(try CollectorConfig.parse(yaml: "") == CollectorConfig())
    }

    @Test(arguments: [
        ("lisen: 1.2.3.4:9", "lisen"), ("ipfix: {listen: 1.2.3.4:9, tranport: [UDP]}", "ipfix.tranport"),
        ("listen: nowhere", "listen"), ("retention: forever", "retention"),
        ("ingest: {queueSize: 0}", "ingest.queueSize"),
        ("ipfix: {transport: [SCTP]}", "ipfix.transport[0]"), ("auth: token", "auth"),
    ])
    func rejectsWithTheKeyPath(yaml: String, keyPath: String) {
        #expect {
            try CollectorConfig.parse(yaml: yaml)
        } throws: { error in
            (error as? CollectorError)?.keyPath == keyPath && "\(error)".hasPrefix("config \(keyPath): ")
        }
    }

    @Test func environmentTokenFillsAnEmptyOne() throws {
        var config = try CollectorConfig.parse(yaml: "auth: {token: \"\"}")
        #expect(config.withEnvironment(["DNSFLOW_TOKEN": "t"]).authToken == "t")
        config.authToken = "file"
        #expect(config.withEnvironment(["DNSFLOW_TOKEN": "t"]).authToken == "file")
    }

    @Test func timeSyntax() {
        #expect(TimeSyntax.durationMs("500ms") == 500)
        #expect(TimeSyntax.durationMs("10m") == 600_000)
        #expect(TimeSyntax.durationMs("7d") == 604_800_000)
        #expect(TimeSyntax.durationMs("-1m") == nil)
        #expect(TimeSyntax.instantMs("1700000000000", now: 0) == 1_700_000_000_000)
        #expect(TimeSyntax.instantMs("10m", now: 1_000_000) == 400_000)
        #expect(TimeSyntax.instantMs("2023-11-14T22:13:20Z", now: 0) == 1_700_000_000_000)
        #expect(TimeSyntax.instantMs("2023-11-14T22:13:20.250Z", now: 0) == 1_700_000_000_250)
        #expect(TimeSyntax.instantMs("soon", now: 0) == nil)
    }
}
