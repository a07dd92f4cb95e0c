import DNSFlowCore
import Testing

@Suite struct TunnelDetectorTests {
    static let suffixes = PublicSuffixList(
        text: "// comment\ncom\nco.uk\n*.ck\n!www.ck\nnet\ncloudfront.net\nappspot.com\n")

    /// base32 of a counter and noise, as iodine and dnscat2 encode their payload.
    static func base32Label(_ n: Int, length: Int = 52) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
        var state = UInt64(n) &* 0x9E37_79B9_7F4A_7C15 | 1
        return String(
            (0..<length).map { _ in
                state ^= state << 13
                state ^= state >> 7
                state ^= state << 17
                return alphabet[Int(state % 32)]
            })
    }

    @Test("the registered domain by the public-suffix rule, wildcards and exceptions included")
    func registeredDomains() {
        let list = Self.suffixes
        #expect(list.registeredDomain(of: "a.b.example.co.uk") == "example.co.uk")
        #expect(list.registeredDomain(of: "x.d1234.cloudfront.net") == "d1234.cloudfront.net")
        #expect(list.registeredDomain(of: "a.b.foo.ck") == "b.foo.ck")
        #expect(list.registeredDomain(of: "www.ck") == "www.ck")
        #expect(list.registeredDomain(of: "web.svc.test") == "svc.test", "no rule: the last label is the suffix")
        #expect(list.registeredDomain(of: "co.uk") == nil && list.registeredDomain(of: "web") == nil)
    }

    @Test("200 base32 labels under one domain in a minute flag the client, once")
    func iodineLike() {
        var detector = TunnelDetector(suffixes: Self.suffixes)
        let records = (0..<200).map {
            lookup("\(Self.base32Label($0)).t.tunnel.com", .a, id: UInt16($0), atMs: 1_000 + Int64($0) * 100)
        }
        let alerts = detector.alerts(of: records)
        #expect(alerts.count == 1)
        #expect(alerts.first?.recordType == .dnsAlert && alerts.first?.dnsName == "tunnel.com")
        #expect(alerts.first?.dnsAlertReason?.hasPrefix("100 unique subdomains within a minute") == true)
        #expect(alerts.first?.requester?.pid == 42 && alerts.first?.srcAddr == records[0].srcAddr)
    }

    @Test("CDN and mesh names, long and many, but few per client and domain: no alert")
    func cdnLike() {
        var detector = TunnelDetector(suffixes: Self.suffixes)
        var records: [FlowRecord] = []
        for n in 0..<200 {
            let names = [
                "d\(n % 7)a1b2c3d4e5f6.cloudfront.net", "r\(n % 5)---sn-4g5e6nzl.googlevideo.com",
                "outbound.istio-system.svc-\(n % 9).mesh.com", "e\(n % 4)-west-1.elb.amazonaws.com",
                "www.example.co.uk", "api-\(n % 3).v2.payments.example.com",
            ]
            records.append(lookup(names[n % names.count], id: UInt16(n), atMs: 1_000 + Int64(n) * 100))
        }
        #expect(detector.alerts(of: records).isEmpty)
    }

    @Test("many short ordinary subdomains of one domain: the unique count alone does not flag")
    func manyOrdinary() {
        var detector = TunnelDetector(suffixes: Self.suffixes)
        let records = (0..<300).map { lookup("host\($0).corp.com", id: UInt16($0), atMs: 1_000 + Int64($0)) }
        #expect(detector.alerts(of: records).isEmpty)
    }

    @Test("TXT queries of many subdomains flag whatever their shape")
    func txt() {
        var detector = TunnelDetector(suffixes: Self.suffixes)
        let records = (0..<150).map {
            lookup("s\($0).x.exfil.com", DNSQueryType(rawValue: 16), id: UInt16($0), atMs: 1_000 + Int64($0))
        }
        #expect(detector.alerts(of: records).count == 1)
    }
}
