import DNSFlowCore
import Testing

struct IPAddressTests {
    @Test func kernelBytesFollowTheEthernetType() {
        let mapped: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 53]
        #expect(IPAddress(kernelBytes: mapped, ipv4: true) == IPAddress(ipv4: 10, 0, 0, 53))
        #expect(IPAddress(kernelBytes: mapped, ipv4: true).description == "10.0.0.53")
        // The same bytes in an IPv6 packet are a v4-mapped IPv6 address, and say so.
        #expect(IPAddress(kernelBytes: mapped, ipv4: false).description == "::ffff:10.0.0.53")
        let v6: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1]
        #expect(IPAddress(kernelBytes: v6, ipv4: false).description == "2001:db8::1")
    }

    @Test(arguments: [
        ("10.0.0.1", "10.0.0.1"), ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"), ("::", "::"), ("::1", "::1"),
        ("1::", "1::"), ("::ffff:1.2.3.4", "::ffff:1.2.3.4"), ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        ("fe80:0:0:1:0:0:0:2", "fe80:0:0:1::2"), ("1:0:0:2:0:0:0:3", "1:0:0:2::3"), ("fe80::1:0:0:0", "fe80::1:0:0:0"),
    ])
    func parsesAndFormatsCanonically(input: String, canonical: String) {
        #expect(IPAddress(input)?.description == canonical)
    }

    @Test(arguments: ["10.0.0.1", "::", "2001:db8::1", "::ffff:10.0.0.53", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"])
    func bytesRoundTrip(text: String) throws {
        let address = try #require(IPAddress(text))
        #expect(address.bytes.count == (address.isIPv4 ? 4 : 16))
        #expect(IPAddress(bytes: address.bytes) == address)
        #expect(IPAddress(utf8: Array(text.utf8)) == address)
    }

    @Test func bytesOfNeitherLengthAreNoAddress() {
        #expect(IPAddress(bytes: [1, 2, 3]) == nil)
        #expect(IPAddress(bytes: [UInt8](repeating: 0, count: 5)) == nil)
    }

    @Test(arguments: [
        "", "1.2.3", "1.2.3.256", "1.2.3.4.5", ":::", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "1:", "a.b.c.d",
    ])
    func malformedAddressesAreRejected(input: String) {
        #expect(IPAddress(input) == nil)
    }
}
