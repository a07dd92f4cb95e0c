import Foundation
import Hummingbird

/// The page (and the OpenAPI file), read once from the bundle's `Page` folder and served from memory.
struct PageAssets: Sendable {
    private let files: [String: (contentType: String, body: ByteBuffer)]

    init() {
        let folder = Bundle.module.url(forResource: "Page", withExtension: nil)
        let types = [
            "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8",
            "css": "text/css; charset=utf-8", "json": "application/json", "svg": "image/svg+xml",
        ]
        var files: [String: (String, ByteBuffer)] = [:]
        for name in (folder.flatMap { try? FileManager.default.contentsOfDirectory(atPath: $0.path) } ?? []) {
            guard let folder, let type = types[(name as NSString).pathExtension],
                let data = FileManager.default.contents(atPath: folder.appendingPathComponent(name).path)
            else { continue }
            files[name] = (type, ByteBuffer(bytes: data))
        }
        self.files = files
    }

    /// The OpenAPI description of the API, served at `/api/v1/openapi.json`.
    static let openAPI = "openapi.json"

    func response(for name: String) -> Response? {
        guard let file = files[name.isEmpty ? "index.html" : name] else { return nil }
        return Response(
            status: .ok,
            headers: [.contentType: file.contentType, .cacheControl: "no-cache"],
            body: ResponseBody(byteBuffer: file.body)
        )
    }
}
