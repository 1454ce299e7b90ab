import Foundation
import Engine
import Training

/// The parent of `vits finetune --from`: a voice bundle (generator only) or, through the trainer's
/// `RunSetup.parentWeights`, a run folder or one checkpoint folder (generator and discriminator).
public enum FineTuneParent {
    public static func weights(_ url: URL, console: ConsoleReporter) throws
        -> (generator: [String: Tensor], discriminator: [String: Tensor]?, description: String) {
        guard VoiceBundle.isVoice(url) else { return try RunSetup.parentWeights(url, console: console) }
        let manifest = try VoiceBundle.readManifest(url)
        return (try VoiceBundle.readWeights(url, manifest: manifest), nil, "voice \(manifest.name)")
    }
}
