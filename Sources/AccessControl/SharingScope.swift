/// The sharing consent as one rule for every access path: for a person who opted out of
/// cross-hospital sharing, an identity sees only its own hospital's studies, unless it is an
/// administrator or invokes the emergency override (which is always audited).
public enum SharingScope {
    /// The hospital whose studies alone an opted-out person's records show to `principal`;
    /// nil: no restriction. `override` is the reason of an emergency override, if one was given.
    public static func restriction(for principal: Principal, override: String?) -> String? {
        if principal.may(.admin) { return nil }
        if let override, !override.isEmpty { return nil }
        return principal.hospital
    }
}
