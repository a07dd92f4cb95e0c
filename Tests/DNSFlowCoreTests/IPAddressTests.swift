import DNSFlowCore
import Testing

struct IPAddressTests {
    private func v6(_ words: [UInt16]) -> IPAddress {
        IPAddress(bytes: words.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] })
    }

    @Test func ipv4IsMapped() {
        let address = IPAddress(ipv4: 10, 0, 0, 53)
        #expect(address.isIPv4)
        #expect(address.description == "10.0.0.53")
        #expect(IPAddress(bytes: address.bytes) == address)
    }

    @Test(arguments: [
        ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1], "2001:db8::1"),
        ([0, 0, 0, 0, 0, 0, 0, 1], "::1"),
        ([0, 0, 0, 0, 0, 0, 0, 0], "::"),
        ([0x2001, 0xdb8, 0, 1, 0, 0, 0, 1], "2001:db8:0:1::1"),
        ([0xfe80, 0, 0, 0, 1, 0, 0, 0], "fe80::1:0:0:0"),
        ([0x2001, 0xdb8, 1, 2, 3, 4, 5, 6], "2001:db8:1:2:3:4:5:6"),
    ])
    func ipv6Text(words: [UInt16], text: String) {
        #expect(v6(words).description == text)
        #expect(!v6(words).isIPv4)
    }
}
