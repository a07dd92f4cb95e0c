#if canImport(Glibc)
    import Glibc
#endif

/// The few system calls the enrichment's scans make. Each answers nil on any error: a process or
/// a cgroup can go away in the middle of a scan, and that is no failure.
enum FileSystem {
    struct Entry {
        var name: String
        /// As readdir gives it: on cgroupfs, the cgroup's id. Not followed through mounts.
        var inode: UInt64
        var isDirectory: Bool
    }

    /// A directory's entries, without "." and "..".
    static func entries(of path: String) -> [Entry]? {
        guard let directory = opendir(path) else { return nil }
        defer { closedir(directory) }
        var entries: [Entry] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
                String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name != ".", name != ".." else { continue }
            let type = entry.pointee.d_type
            let isDirectory =
                type == UInt8(DT_UNKNOWN) ? Self.isDirectory("\(path)/\(name)") : type == UInt8(DT_DIR)
            entries.append(Entry(name: name, inode: UInt64(entry.pointee.d_ino), isDirectory: isDirectory))
        }
        return entries
    }

    /// The inode of what `path` names, following symbolic links and into mounts (a bind-mounted
    /// namespace file gives the namespace's inode).
    static func inode(of path: String) -> UInt64? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return UInt64(status.st_ino)
    }

    static func isDirectory(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR
    }

    /// A symbolic link's target.
    static func link(_ path: String) -> String? {
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBufferPointer { readlink(path, $0.baseAddress!, $0.count) }
        guard count > 0 else { return nil }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }

    /// A small file's text, at most `limit` bytes (proc files have no size to stat).
    static func contents(of path: String, limit: Int = 16 * 1024) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: limit)
        var filled = 0
        while filled < limit {
            let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + filled, limit - filled) }
            if count < 0 {
                if errno == EINTR { continue }
                return nil
            }
            guard count > 0 else { break }
            filled += count
        }
        return String(decoding: bytes[..<filled], as: UTF8.self)
    }
}
