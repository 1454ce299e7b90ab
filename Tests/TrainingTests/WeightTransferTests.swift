import XCTest
import Engine
import Training

private final class Toy: Module {
    @ModuleInfo(key: "emb_g") var table: Embedding
    @ModuleInfo(key: "proj") var proj: Linear
    init(rows: Int, seed: UInt64) {
        let g = RandomGenerator(seed: seed)
        _table.wrappedValue = Embedding(rows, 3, generator: g)
        _proj.wrappedValue = Linear(3, 2, generator: g)
        super.init()
    }
}

final class WeightTransferTests: XCTestCase {
    func testCopiesMatchingReshapesTablesAndReports() {
        let parent = Toy(rows: 2, seed: 1)
        var source = parent.stateDict()
        source["old.only"] = Tensor(zeros: [1])
        let child = Toy(rows: 4, seed: 2)
        let freshRows = Array(child.table.weight.scalars[6..<12])
        let report = WeightTransfer.transfer(source, into: child, reshapable: ["emb_g.weight"])
        XCTAssertEqual(report.loaded, ["proj.bias", "proj.weight"])
        XCTAssertEqual(report.reshaped.map(\.key), ["emb_g.weight"])
        XCTAssertEqual(report.skipped, ["old.only"])
        XCTAssertEqual(child.proj.weight.scalars, parent.proj.weight.scalars)
        XCTAssertEqual(Array(child.table.weight.scalars[0..<6]), parent.table.weight.scalars)   // 2 speakers copied
        XCTAssertEqual(Array(child.table.weight.scalars[6..<12]), freshRows)                   // 2 new keep init

        let strictChild = Toy(rows: 4, seed: 3)
        let strictReport = WeightTransfer.transfer(source, into: strictChild)
        XCTAssertEqual(strictReport.incompatible.map(\.key), ["emb_g.weight"])
    }

    func testFreezePresetParsing() throws {
        XCTAssertEqual(try FreezePreset.parseList("text-encoder, flow"), [.textEncoder, .flow])
        XCTAssertThrowsError(try FreezePreset.parseList("encoder")) { XCTAssertTrue("\($0)".contains("text-encoder")) }
    }
}
