import Foundation

/// A flow receiver on loopback that answers as `verdict` says: a Python function body of
/// `elapsed` (seconds since it started) returning (seconds to wait, HTTP status). It stores the
/// records of every batch it answers 200, one JSON object per line, and logs every request.
final class FakeCollector: @unchecked Sendable {
    let url: String
    private let store: String
    private let log: String

    init(_ lab: Lab, verdict: String) async throws {
        let port = Int.random(in: 20_000...29_999)
        url = "http://127.0.0.1:\(port)/api/v1/flows"
        store = "/tmp/\(lab.id)-collector-store.jsonl"
        log = "/tmp/\(lab.id)-collector-requests.log"
        let script = try ReliabilityTests.write(
            lab, "collector",
            """
            import http.server, json, threading, time
            start, lock = time.time(), threading.Lock()
            def verdict(elapsed):
                \(verdict)
            class Handler(http.server.BaseHTTPRequestHandler):
                def body(self):
                    # The agent streams its bodies chunked (RFC 9112 7.1), which http.server leaves to us.
                    if self.headers.get('Transfer-Encoding', '').lower() != 'chunked':
                        return self.rfile.read(int(self.headers['Content-Length']))
                    parts = []
                    while True:
                        size = int(self.rfile.readline().split(b';')[0], 16)
                        parts.append(self.rfile.read(size))
                        self.rfile.readline()
                        if size == 0:
                            return b''.join(parts)
                def do_POST(self):
                    records = json.loads(self.body())
                    elapsed = time.time() - start
                    wait, status = verdict(elapsed)
                    time.sleep(wait)
                    with lock:
                        with open('\(log)', 'a') as f: f.write(f'{elapsed:.3f} {status} {len(records)}\\n')
                        if status == 200:
                            with open('\(store)', 'a') as f: f.writelines(json.dumps(r, sort_keys=True) + '\\n' for r in records)
                    self.send_response(status)
                    self.send_header('Content-Length', '0')
                    self.end_headers()
                def log_message(self, *args): pass
            http.server.ThreadingHTTPServer(('127.0.0.1', \(port)), Handler).serve_forever()
            """)
        let process = try lab.start(nil, "python3 -u \(script)")
        for _ in 0..<100 {
            if ((try? sh("ss -tln")) ?? "").contains("127.0.0.1:\(port) ") { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ShellError(command: "fake collector on \(port)", status: -1, stderr: process.stderr)
    }

    /// The records of the batches answered 200, one JSON line each, sorted keys.
    var stored: [String] {
        ((try? String(contentsOfFile: store, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Every request: when (seconds since start) and the status answered.
    var requests: [(elapsed: Double, status: Int)] {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count == 3, let elapsed = Double(fields[0]), let status = Int(fields[1]) else { return nil }
            return (elapsed, status)
        }
    }
}
