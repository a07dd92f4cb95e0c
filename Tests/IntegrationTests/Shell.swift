import Foundation

#if canImport(Glibc)
    import Glibc
#endif

// Processes are spawned with posix_spawn and reaped with waitpid: Foundation's Process on Linux
// reaps children one at a time on one thread, and a long-running server stalls every other wait.

/// Spawns `/bin/sh -c command` with stdout and stderr going to files; returns the pid.
private func spawn(_ command: String, stdout: String, stderr: String) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    // The spawning thread may be a Dispatch worker, which blocks signals; a child inherits that
    // mask and would sit on SIGTERM. Start children with nothing blocked and default handlers.
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var empty = sigset_t()
    sigemptyset(&empty)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&defaults, signal) }
    posix_spawnattr_setsigmask(&attributes, &empty)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var pid: pid_t = 0
    let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sh"), strdup("-c"), strdup(command), nil]
    defer { for arg in argv { free(arg) } }
    let err = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, environ)
    guard err == 0 else { throw ShellError(command: command, status: err, stderr: String(cString: strerror(err))) }
    return pid
}

private func exitStatus(_ status: Int32) -> Int32 {
    (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
}

private func read(_ path: String) -> String {
    (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
}

/// Runs a command to completion; throws with its stderr when it fails.
@discardableResult
func sh(_ command: String, check: Bool = true) throws -> String {
    let base = NSTemporaryDirectory() + "dnsflow-sh-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    defer { unlink(base + ".out"); unlink(base + ".err") }
    let pid = try spawn(command, stdout: base + ".out", stderr: base + ".err")
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let code = exitStatus(status)
    if check && code != 0 {
        throw ShellError(command: command, status: code, stderr: read(base + ".err"))
    }
    return read(base + ".out")
}

struct ShellError: Error, CustomStringConvertible {
    let command: String
    let status: Int32
    let stderr: String
    var description: String { "`\(command)` exited \(status): \(stderr)" }
}

/// A process that runs in the background until stopped; its output is kept in files.
final class BackgroundProcess: @unchecked Sendable {
    let pid: pid_t
    private let base: String
    private var status: Int32?

    init(_ command: String) throws {
        base = NSTemporaryDirectory() + "dnsflow-bg-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        pid = try spawn("exec " + command, stdout: base + ".out", stderr: base + ".err")
    }

    deinit {
        unlink(base + ".out")
        unlink(base + ".err")
    }

    var stdout: String { read(base + ".out") }
    var stderr: String { read(base + ".err") }

    var isRunning: Bool {
        guard status == nil else { return false }
        var raw: Int32 = 0
        if waitpid(pid, &raw, WNOHANG) == pid { status = exitStatus(raw) }
        return status == nil
    }

    /// Sends `signal` and waits (bounded) for the exit; returns the exit status.
    @discardableResult
    func stop(signal: Int32 = SIGTERM, timeout: Duration = .seconds(20)) async -> Int32 {
        if isRunning { kill(pid, signal) }
        let deadline = ContinuousClock.now + timeout
        while isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if isRunning {
            kill(pid, SIGKILL)
            var raw: Int32 = 0
            waitpid(pid, &raw, 0)
            status = exitStatus(raw)
        }
        return status ?? -1
    }

    /// Waits until `predicate` holds for stderr, or the timeout passes.
    func waitForStderr(timeout: Duration = .seconds(30), _ predicate: (String) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if predicate(stderr) { return true }
            if !isRunning { return predicate(stderr) }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }
}
