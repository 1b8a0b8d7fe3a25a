/// One kind of thing an identity may do. DIMSE peers use the first three; `admin` covers jobs,
/// patient links, sharing consent and the audit trail.
public enum Permission: String, Sendable, Hashable, CaseIterable, Codable {
    case store, query, retrieve, admin
}
