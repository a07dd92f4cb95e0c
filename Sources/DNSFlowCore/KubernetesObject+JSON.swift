extension KubernetesObject {
    /// What the writer takes for the object's strings at worst (`FlowField.variableValueLength`).
    @inline(__always)
    static func stringsLength(_ object: KubernetesObject?) -> Int {
        guard let object else { return 0 }
        return escapedLength(object.name) + escapedLength(object.namespace) + escapedLength(object.ownerName)
            + escapedLength(object.ownerType) + escapedLength(object.hostName)
    }
}

extension JSONReader {
    /// Reads one `*K8S_*` key's value into its object, made by the first of its keys; null leaves it.
    mutating func kubernetesField(_ field: FlowField, into object: inout KubernetesObject?) throws(FlowJSONError) {
        let badType = error("expected a Kubernetes type, Pod, Service or Node")
        guard let text = try nullOr({ (j) throws(FlowJSONError) in try j.string() }) else { return }
        var filled = object ?? .unnamed
        switch field {
        case .srcK8SName, .dstK8SName, .xlatDstK8SName: filled.name = text
        case .srcK8SNamespace, .dstK8SNamespace, .xlatDstK8SNamespace: filled.namespace = text
        case .srcK8SType, .dstK8SType:
            guard let kind = KubernetesObject.Kind(name: text) else { throw badType }
            filled.kind = kind
        case .srcK8SOwnerName, .dstK8SOwnerName: filled.ownerName = text
        case .srcK8SOwnerType, .dstK8SOwnerType: filled.ownerType = text
        case .srcK8SHostName, .dstK8SHostName: filled.hostName = text
        default: return
        }
        object = filled
    }
}
