/// Who is asking, once authenticated: an API token, a JWT's subject, a DIMSE peer, or the
/// development-mode stand-in. Every identity belongs to a hospital.
public struct Principal: Sendable, Hashable {
    /// For the audit trail: `token:<id>`, `jwt:<subject>`, `ae:<AE title>`, `development`.
    public var actor: String
    public var hospital: String
    public var permissions: Set<Permission>

    public init(actor: String, hospital: String, permissions: Set<Permission>) {
        self.actor = actor
        self.hospital = hospital
        self.permissions = permissions
    }

    public func may(_ permission: Permission) -> Bool { permissions.contains(permission) }

    /// The stand-in of development mode: an administrator of no hospital in particular.
    public static let development = Principal(actor: "development", hospital: "(development)",
                                              permissions: Set(Permission.allCases))
}
