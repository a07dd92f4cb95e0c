import Foundation

/// The secret the agent sends and the collector checks (`Authorization: Bearer …`): the config's
/// if it sets one, else `$DNSFLOW_TOKEN`'s, so it can stay out of config files (the Helm chart
/// passes it from a Secret).
public enum BearerToken {
    public static let environmentVariable = "DNSFLOW_TOKEN"

    /// `configured` unless nil or empty, else the environment's; nil when neither has one.
    public static func resolve(
        _ configured: String?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String? {
        if let configured, !configured.isEmpty { return configured }
        guard let token = environment[environmentVariable], !token.isEmpty else { return nil }
        return token
    }
}
