import CBPF
import Glibc
import Testing

@testable import DNSFlowProbe

/// The slots over an anonymous mapping, as user space sees `dns_pending` through mmap.
@Suite struct PendingQuerySlotsTests {
    final class Mapping {
        let count: Int
        let bytes: Int
        let slots: UnsafeMutablePointer<dns_pending>

        init(count: Int) {
            self.count = count
            bytes = count * MemoryLayout<dns_pending>.stride
            let address = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)!
            precondition(address != MAP_FAILED)
            slots = address.bindMemory(to: dns_pending.self, capacity: count)
        }

        deinit { munmap(slots, bytes) }
    }

    /// Slot i's detail has ifindex i.
    static func slots(over mapping: Mapping) -> PendingQuerySlots {
        PendingQuerySlots(slots: mapping.slots, count: mapping.count) { index, detail in
            detail.ifindex = index
            return true
        }
    }

    @Test("queries made before the deadline are taken and their slots freed; newer, free and answered ones stay")
    func takesExpired() {
        let mapping = Mapping(count: 8)
        mapping.slots[1].state = 1_000
        mapping.slots[1].key.id = 11
        mapping.slots[2].state = 5_000
        mapping.slots[3].state = UInt64(DNSFLOW_SLOT_ANSWERED)
        mapping.slots[4].state = UInt64(DNSFLOW_SLOT_BUSY)
        mapping.slots[6].state = 2_999
        mapping.slots[6].key.id = 66
        let slots = Self.slots(over: mapping)
        #expect(slots.waiting == 3)

        let taken = slots.takeQueries(madeBefore: 3_000)
        #expect(taken.map(\.key.id) == [11, 66])
        #expect(taken.map(\.queryNs) == [1_000, 2_999])
        #expect(taken.map(\.detail.ifindex) == [1, 6])
        #expect(mapping.slots[1].state == UInt64(DNSFLOW_SLOT_FREE))
        #expect(mapping.slots[6].state == UInt64(DNSFLOW_SLOT_FREE))
        #expect(mapping.slots[2].state == 5_000)
        #expect(mapping.slots[3].state == UInt64(DNSFLOW_SLOT_ANSWERED))
        #expect(slots.waiting == 1)
        #expect(slots.takeQueries(madeBefore: 3_000).isEmpty)
    }

    @Test("a slot whose detail cannot be read is left waiting")
    func unreadableDetail() {
        let mapping = Mapping(count: 2)
        mapping.slots[0].state = 10
        let slots = PendingQuerySlots(slots: mapping.slots, count: 2) { _, _ in false }
        #expect(slots.takeQueries(madeBefore: 100).isEmpty)
        #expect(mapping.slots[0].state == 10)
    }
}
