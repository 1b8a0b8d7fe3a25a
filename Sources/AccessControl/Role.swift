/// The roles of ImagingIndex: a name for a set of permissions.
public enum Role: String, Sendable, Hashable, CaseIterable, Codable {
    /// A hospital PACS forwarding studies: stores only.
    case pacs
    /// A radiologist (or the viewer acting for one): queries and retrieves.
    case radiologist
    /// Everything, plus jobs, links, consent and the audit trail.
    case admin

    public var permissions: Set<Permission> {
        switch self {
        case .pacs: [.store]
        case .radiologist: [.query, .retrieve]
        case .admin: Set(Permission.allCases)
        }
    }

    /// The union of the roles' permissions.
    public static func permissions(of roles: some Sequence<Role>) -> Set<Permission> {
        roles.reduce(into: Set<Permission>()) { $0.formUnion($1.permissions) }
    }
}
