import Synchronization
import AccessControl

/// One request's identity and what its answer revealed, shared by the access and audit
/// middlewares and the route handlers (the request context is copied down the chain; this box
/// is not). Filled as the request goes.
public final class RequestAccess: Sendable {
    struct State {
        var principal: Principal?
        var override: String?
        var patients = Set<String>()
        var studies = Set<String>()
        var results: Int?
    }

    private let state = Mutex(State())

    public init() {}

    public var principal: Principal? { state.withLock { $0.principal } }
    /// The reason of an emergency override (`X-Emergency-Access` header or `emergency` parameter).
    public var override: String? { state.withLock { $0.override } }

    func authenticated(_ principal: Principal, override: String?) {
        state.withLock {
            $0.principal = principal
            $0.override = override
        }
    }

    /// The sharing consent for this request: the hospital whose studies alone an opted-out
    /// person shows (nil: none, for administrators and emergency overrides).
    public var sharingRestriction: String? {
        state.withLock { s in
            guard let principal = s.principal else { return "" } // nobody: nothing of an opted-out person
            return SharingScope.restriction(for: principal, override: s.override)
        }
    }

    /// Patients and studies an answer revealed, and how many results it had (for the audit trail).
    func revealed(patients: some Sequence<String>, studies: some Sequence<String>, results: Int) {
        state.withLock {
            $0.patients.formUnion(patients.filter { !$0.isEmpty })
            $0.studies.formUnion(studies.filter { !$0.isEmpty })
            $0.results = ($0.results ?? 0) + results
        }
    }

    var touched: (patients: [String], studies: [String], results: Int?) {
        state.withLock { ($0.patients.sorted(), $0.studies.sorted(), $0.results) }
    }
}
