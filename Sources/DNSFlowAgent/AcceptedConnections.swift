import NIOCore
import Synchronization

/// The connections a listener accepted and has not served yet, held until it serves or closes them.
///
/// A connection accepted while the listening channel closes, or while its stream's consumer stops,
/// is dropped by NIO without being closed, and NIO traps on that ("Deinited NIOAsyncWriter without
/// calling finish()", swift-nio issue 2813). Holding each one from its child channel initializer
/// keeps that from happening; `closeUnserved()` closes those left when the listener stops.
final class AcceptedConnections<Inbound: Sendable, Outbound: Sendable>: Sendable {
    typealias Connection = NIOAsyncChannel<Inbound, Outbound>

    private let unserved = Mutex<[ObjectIdentifier: Connection]>([:])

    /// In the child channel initializer: the connection as the listener's stream will yield it.
    func adopt(_ connection: Connection) -> Connection {
        unserved.withLock { $0[ObjectIdentifier(connection.channel)] = connection }
        return connection
    }

    /// Before the connection's `executeThenClose`, which finishes it from then on.
    func serve(_ connection: Connection) -> Connection {
        _ = unserved.withLock { $0.removeValue(forKey: ObjectIdentifier(connection.channel)) }
        return connection
    }

    /// After the listening channel closed, so nothing is accepted later: closes what it accepted
    /// and never served.
    func closeUnserved() async {
        let left = unserved.withLock { unserved in unserved.values.map { $0 } }
        for connection in left {
            try? await serve(connection).executeThenClose { _, _ in }
        }
    }
}
