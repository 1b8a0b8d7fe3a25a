import Foundation
import Testing
import DicomCore
import DicomIndex
import DicomStorage
import DicomTestSupport
@testable import ImagingIndexApp

/// What the index says, without row ids and times: compares two indexes built differently.
func snapshot(_ index: any IndexStore) throws -> [String] {
    try index.query(IndexQuery(level: .instance)).map { m in
        let i = m.instance!, s = m.study!, se = m.series!, p = m.patient
        return [p.patientID, p.issuerOfPatientID, p.patientName ?? "-", p.birthDate ?? "-", p.sex ?? "-",
                p.otherPatientIDs.map(\.id).joined(separator: ","),
                s.studyInstanceUID, s.studyDate ?? "-", s.studyTime ?? "-", s.accessionNumber ?? "-", s.studyDescription ?? "-",
                s.referringPhysicianName ?? "-", s.institutionName ?? "-", s.modalitiesInStudy.joined(separator: ","),
                "\(s.numberOfSeries)/\(s.numberOfInstances)",
                se.seriesInstanceUID, se.modality ?? "-", "\(se.seriesNumber ?? -1)", se.seriesDescription ?? "-",
                "\(se.numberOfInstances)", i.sopInstanceUID, i.sopClassUID, "\(i.instanceNumber ?? -1)", i.transferSyntaxUID,
                "\(i.rows ?? -1)x\(i.columns ?? -1)x\(i.numberOfFrames ?? -1)", i.photometricInterpretation ?? "-",
                "\(i.fileSize)", i.path, i.checksum, "\(i.receivedAt.timeIntervalSince1970)", i.sourceAETitle ?? "-",
                i.policy].joined(separator: "|")
    }.sorted()
}

@Suite struct ReindexTests {
    func imported() throws -> TestNode {
        let t = try TestNode()
        let summary = ImportJob(node: t.node, paths: [TestImages.root.path], progress: .silent).run()
        #expect(summary.imported == TestImages.manifest.files.count)
        return t
    }

    @Test func deletingTheDatabaseAndReindexingAllGivesTheSameIndex() throws {
        let t = try imported()
        let before = try snapshot(t.node.index)
        t.node.shutdown()
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: t.node.configuration.indexPath + suffix) }
        let node = try t.reopen()
        defer { node.shutdown() }
        #expect(try node.index.count(IndexQuery(level: .instance)) == 0)
        let summary = try ReindexJob(node: node, mode: .all, progress: .silent).run()
        #expect(summary.reindexed == TestImages.manifest.files.count)
        #expect(summary.failed == 0 && summary.corrupt == 0)
        #expect(try snapshot(node.index) == before)
    }

    @Test func filesAddedAndRemovedBehindTheIndexesBack() throws {
        let t = try imported()
        let node = t.node
        defer { node.shutdown() }
        // Remove two stored files by hand, and drop the rows of two others (as if never indexed).
        let locations = try node.index.instanceLocations(afterID: 0, limit: 100)
        let vanished = Array(locations.prefix(2))
        for l in vanished { try FileManager.default.removeItem(at: node.store.url(forRelativePath: l.path)) }
        let unindexed = Array(locations.suffix(2))
        _ = try node.index.removeInstances(ids: unindexed.map(\.id))
        #expect(try node.index.count(IndexQuery(level: .instance)) == locations.count - 2)

        let summary = try ReindexJob(node: node, mode: .stale, progress: .silent).run()
        #expect(summary.reindexed == 2)          // the two files without rows
        #expect(summary.removedRows == 2)        // the two rows without files
        let sops = Set(try node.index.query(IndexQuery(level: .instance)).map { $0.instance!.sopInstanceUID })
        #expect(sops.count == locations.count - 2)
        for l in vanished { #expect(!sops.contains(l.sopInstanceUID)) }
        for l in unindexed { #expect(sops.contains(l.sopInstanceUID)) }
    }

    @Test func staleFindsRowsOfAnOlderPolicy() throws {
        let t = try imported()
        t.node.shutdown()
        // A new extra tag changes the policy: every row is stale, and reindex --stale remakes them with it.
        let node = try t.reopen { $0.extraTags = [DicomTag(0x0028, 0x0100)] }
        defer { node.shutdown() }
        let current = node.pipeline.policy.fingerprint
        #expect(try node.index.statistics(currentPolicy: current).staleInstances == TestImages.manifest.files.count)
        let summary = try ReindexJob(node: node, mode: .stale, progress: .silent).run()
        #expect(summary.reindexed == TestImages.manifest.files.count)
        #expect(try node.index.statistics(currentPolicy: current).staleInstances == 0)
        let hits = try node.index.query(IndexQuery(level: .instance, extra: [DicomTag(0x0028, 0x0100): "8"]))
        #expect(!hits.isEmpty)
        // Nothing stale left: a second run does nothing.
        #expect(try ReindexJob(node: node, mode: .stale, progress: .silent).run().reindexed == 0)
    }

    @Test func anInterruptedReindexResumesAfterItsLastFolder() throws {
        let t = try imported()
        let node = t.node
        defer { node.shutdown() }
        let before = try snapshot(node.index)
        let leaves = node.store.leafFolders()
        #expect(leaves.count > 4)
        // What a run killed after finishing half the folders leaves behind.
        let half = leaves[leaves.count / 2 - 1]
        let state = #"{"mode":"all","lastLeaf":"\#(half)","walkDone":false}"#
        try node.index.setJobState(ReindexJob.stateKey, state)
        #expect(ReindexJob.pending(in: node.index) == state)

        let resumed = try ReindexJob(node: node, mode: .all, progress: .silent).run()
        let remaining = leaves.filter { $0 > half }.flatMap { node.store.files(inLeaf: $0) }.count
        #expect(resumed.reindexed == remaining)
        #expect(resumed.reindexed < TestImages.manifest.files.count)
        #expect(ReindexJob.pending(in: node.index) == nil)
        #expect(try snapshot(node.index) == before)
    }

    @Test func aCancelledJobStopsAtACheckpointWithItsProgressAndResumesLater() throws {
        let t = try imported()
        let node = t.node
        defer { node.shutdown() }
        let before = try snapshot(node.index)
        var job = ReindexJob(node: node, mode: .all, progress: .silent)
        job.chunkFiles = 4
        let control = JobControl(id: "test", kind: "reindex", mode: "all")
        control.cancel()  // asked before the first chunk ends: it stops after that chunk
        let partial = try job.run(control: control)
        let status = control.status
        #expect(status.total == TestImages.manifest.files.count)
        #expect(partial.reindexed > 0 && partial.reindexed < TestImages.manifest.files.count)
        #expect(status.done == partial.processed)
        #expect(ReindexJob.pending(in: node.index) != nil)
        let rest = try ReindexJob(node: node, mode: .all, progress: .silent).run()
        #expect(partial.reindexed + rest.reindexed == TestImages.manifest.files.count)
        #expect(ReindexJob.pending(in: node.index) == nil)
        #expect(try snapshot(node.index) == before)
    }

    @Test func corruptStoredFileIsReportedNotFatal() throws {
        let t = try imported()
        let node = t.node
        defer { node.shutdown() }
        let victim = try node.index.instanceLocations(afterID: 0, limit: 1)[0]
        let url = node.store.url(forRelativePath: victim.path)
        let bytes = try Data(contentsOf: url)
        try bytes.prefix(bytes.count / 3).write(to: url)
        let summary = try ReindexJob(node: node, mode: .all, progress: .silent).run()
        #expect(summary.corrupt == 1)
        #expect(summary.problems.first?.file == victim.path)
        #expect(summary.reindexed == TestImages.manifest.files.count - 1)
    }
}
