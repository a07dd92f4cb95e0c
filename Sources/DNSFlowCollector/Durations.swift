import DNSFlowConfig
import Foundation

/// Parses the durations and instants people type: `500ms`, `10m`, `24h`, `7d`; RFC 3339; epoch ms.
public enum TimeSyntax {
    /// A positive duration (`DurationSyntax`: `500ms`, `1m30s`, `7d`), in milliseconds.
    public static func durationMs(_ text: String) -> Int64? {
        guard let duration = DurationSyntax.parse(text), duration > .zero else { return nil }
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// An instant in epoch ms: digits are epoch ms, a duration means that long before `now`, else RFC 3339.
    public static func instantMs(_ text: String, now: Int64) -> Int64? {
        if !text.isEmpty, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber) { return Int64(text) }
        if let ago = durationMs(text) { return now - ago }
        for style in [Date.ISO8601FormatStyle(includingFractionalSeconds: true), Date.ISO8601FormatStyle()] {
            if let date = try? style.parse(text) { return Int64((date.timeIntervalSince1970 * 1000).rounded()) }
        }
        return nil
    }
}
