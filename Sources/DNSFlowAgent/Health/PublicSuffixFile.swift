import DNSFlowCore
import Logging

extension PublicSuffixList {
    /// Debian's `publicsuffix` package's list.
    static let installedPath = "/usr/share/publicsuffix/public_suffix_list.dat"

    /// The installed list; without it every name's last label is its suffix, and a warning says so.
    static func installed(logger: Logger) -> PublicSuffixList {
        guard let text = FileSystem.contents(of: installedPath, limit: 1 << 20) else {
            logger.warning(
                "No public suffix list: registered domains are the last two labels",
                metadata: ["dnsflow.path": "\(installedPath)"])
            return PublicSuffixList(text: "")
        }
        return PublicSuffixList(text: text[...])
    }
}
