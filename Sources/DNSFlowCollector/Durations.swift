import Foundation

/// Parses the durations and instants people type: `500ms`, `10m`, `24h`, `7d`; RFC 3339; epoch ms.
public enum TimeSyntax {
    private static let units: [(suffix: String, ms: Int64)] = [
        ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000),
    ]

    /// A positive duration with one unit, in milliseconds.
    public static func durationMs(_ text: String) -> Int64? {
        // "ms" before "m" and "s", so "500ms" is not read as 500 m + "s".
        for unit in units.sorted(by: { $0.suffix.count > $1.suffix.count }) where text.hasSuffix(unit.suffix) {
            guard let n = Int64(text.dropLast(unit.suffix.count)), n > 0 else { return nil }
            let (ms, overflow) = n.multipliedReportingOverflow(by: unit.ms)
            return overflow ? nil : ms
        }
        return nil
    }

    public static func duration(_ text: String) -> Duration? {
        durationMs(text).map { .milliseconds($0) }
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
