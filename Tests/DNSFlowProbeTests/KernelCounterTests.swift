import CBPF
import Testing

@testable import DNSFlowProbe

@Suite struct KernelCounterTests {
    @Test("each counter is the C enum's constant of the same name, and every constant has a counter")
    func matchesTheCEnum() {
        let pairs: [(KernelCounter, dnsflow_counter)] = [
            (.packets, DNSFLOW_CTR_PACKETS), (.notIP, DNSFLOW_CTR_NOT_IP),
            (.truncatedHeader, DNSFLOW_CTR_TRUNCATED_HEADER), (.flowMapFull, DNSFLOW_CTR_FLOW_MAP_FULL),
            (.dnsShort, DNSFLOW_CTR_DNS_SHORT), (.dnsBadQDCount, DNSFLOW_CTR_DNS_BAD_QDCOUNT),
            (.dnsQueryMapFull, DNSFLOW_CTR_DNS_QUERY_MAP_FULL), (.dnsRingBufferFull, DNSFLOW_CTR_DNS_RING_BUFFER_FULL),
            (.dnsQuerySeenAgain, DNSFLOW_CTR_DNS_QUERY_SEEN_AGAIN),
            (.dnsResponseSeenAgain, DNSFLOW_CTR_DNS_RESPONSE_SEEN_AGAIN),
            (.dnsOrphanResponse, DNSFLOW_CTR_DNS_ORPHAN_RESPONSE), (.dnsFragment, DNSFLOW_CTR_DNS_FRAGMENT),
            (.dnsRequesterNotSender, DNSFLOW_CTR_DNS_REQUESTER_NOT_SENDER),
            (.dnsAnswersCut, DNSFLOW_CTR_DNS_ANSWERS_CUT),
            (.dropNotIP, DNSFLOW_CTR_DROP_NOT_IP), (.dropNoHeader, DNSFLOW_CTR_DROP_NO_HEADER),
            (.dropNotDNS, DNSFLOW_CTR_DROP_NOT_DNS), (.dropRingBufferFull, DNSFLOW_CTR_DROP_RING_BUFFER_FULL),
        ]
        for (counter, constant) in pairs { #expect(counter.rawValue == constant.rawValue, "\(counter)") }
        #expect(KernelCounter.allCases.count == Int(DNSFLOW_CTR_MAX.rawValue))
    }

    @Test("the renamed counters keep their /metrics reasons")
    func reasonIsTheCName() {
        #expect(KernelCounter.dnsQuerySeenAgain.reason == "dns_query_seen_again")
        #expect(KernelCounter.dnsRingBufferFull.reason == "dns_ring_buffer_full")
    }
}
