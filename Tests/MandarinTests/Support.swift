import Foundation
import Mandarin
import XCTest

/// The bundled frontend, loaded once for all tests.
let frontend: MandarinFrontend = {
    do { return try MandarinFrontend.bundled() } catch { fatalError("bundled lexicon failed to load: \(error)") }
}()

func fixture(_ name: String) throws -> String {
    let url = try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"), "missing fixture \(name)")
    return try String(contentsOf: url, encoding: .utf8)
}

/// Surface pinyin of a text as one space-separated string.
func py(_ text: String) -> String { frontend.pinyin(text).joined(separator: " ") }

/// Normalized text.
func tn(_ text: String) -> String { frontend.normalizer.normalize(text) }
