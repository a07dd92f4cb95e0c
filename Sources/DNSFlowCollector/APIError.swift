import DNSFlowCore
import DNSFlowStore
import Foundation
import Hummingbird

/// An API failure answered as `{"error": "...", "parameter": "..."}` with its status.
struct APIError: HTTPResponseError {
    let status: HTTPResponse.Status
    let message: String
    let parameter: String?

    static func badParameter(_ name: String, _ reason: String) -> APIError {
        APIError(status: .badRequest, message: "\(name): \(reason)", parameter: name)
    }

    static let unauthorized = APIError(
        status: .unauthorized, message: "missing or wrong bearer token (send Authorization: Bearer <token>)",
        parameter: nil
    )

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try JSONBody.response(Body(error: message, parameter: parameter), status: status)
        if status == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer" }
        return response
    }

    private struct Body: Encodable {
        let error: String
        let parameter: String?
    }
}

enum JSONBody {
    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        response(bytes: try JSONEncoder().encode(value), status: status)
    }

    /// A page of flows, the records written by `FlowRecordJSON`: `JSONEncoder` took longer than the query itself.
    static func response(_ page: FlowPage, recordsKey: String = "flows") -> Response {
        var bytes = Array("{\"\(recordsKey)\":".utf8)
        FlowRecordJSON.encode(page.flows, into: &bytes)
        bytes += Array(",\"total\":\(page.total)}".utf8)
        return response(bytes: bytes, status: .ok)
    }

    private static func response(bytes: some Sequence<UInt8>, status: HTTPResponse.Status) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }
}
