import Foundation
import Engine

/// Multi-resolution STFT loss (ParallelWaveGAN's `MultiResolutionSTFTLoss`, the MB-iSTFT-VITS
/// authors' `stft_loss.py`): per resolution, magnitudes `sqrt(clamp(|STFT|², 1e-7))` (Hann window of
/// `win_length` centred in n_fft, center=True, reflect padding), then
/// - spectral convergence `‖|Y| − |Ŷ|‖_F / ‖|Y|‖_F` over the whole batch,
/// - log-magnitude `mean|log|Y| − log|Ŷ||`,
/// each averaged over the resolutions.
public struct MultiResolutionSTFTLoss {
    public let plans: [STFTPlan]

    public init(_ settings: STFTLossResolutions) {
        plans = zip(settings.fftSizes, zip(settings.hopSizes, settings.winLengths)).map { n, hw in
            STFTPlan(nFFT: n, hop: hw.0, winLength: hw.1)
        }
    }

    /// generated, target: [N, L] → (spectral convergence, log-magnitude), both scalars.
    public func callAsFunction(generated: Tensor, target: Tensor) -> (spectralConvergence: Tensor, logMagnitude: Tensor) {
        precondition(generated.shape == target.shape && generated.rank == 2,
                     "STFT loss: generated \(generated.shape) and target \(target.shape) must both be [N, L]")
        var sc: Tensor?, mag: Tensor?
        for plan in plans {
            let x = plan.magnitude(generated)
            let y = noGrad { plan.magnitude(target) }
            let scTerm = (y - x).square().sum().sqrt() / y.square().sum().sqrt()
            let magTerm = (y.log() - x.log()).abs().mean()
            sc = sc.map { $0 + scTerm } ?? scTerm
            mag = mag.map { $0 + magTerm } ?? magTerm
        }
        let count = Float(plans.count)
        return (sc!.divided(by: count), mag!.divided(by: count))
    }
}

extension VITSLoss {
    /// The mb_istft sub-band loss [`loss_subband`] (authors' `subband_stft_loss`): the target audio
    /// [B, 1, T] is split by PQMF analysis into [B, S, T/S]; the decoder's bands [B, S, ≥ T/S] are cut
    /// to that length; both are flattened to [B·S, T/S]; the loss is SC + log-magnitude of the
    /// multi-resolution STFT loss. Added with weight 1 to the generator loss.
    public static func subband(generatedBands: Tensor, target: Tensor, pqmf: PQMF, loss: MultiResolutionSTFTLoss) -> Tensor {
        let targetBands = noGrad { pqmf.analysis(target) }
        let length = targetBands.shape[2]
        precondition(generatedBands.rank == 3 && generatedBands.shape[0] == targetBands.shape[0]
                        && generatedBands.shape[1] == targetBands.shape[1] && generatedBands.shape[2] >= length,
                     "sub-band loss: generated bands \(generatedBands.shape) do not cover the target's \(targetBands.shape)")
        let rows = targetBands.shape[0] * targetBands.shape[1]
        let generated = generatedBands.slice(axis: 2, start: 0, end: length).reshaped([rows, length])
        let (sc, mag) = loss(generated: generated, target: targetBands.reshaped([rows, length]))
        return sc + mag
    }
}

extension VITSLoss {
    /// The full-band loss (`train.c_stft`): SC + log-magnitude of the multi-resolution STFT loss between
    /// the decoder's waveform slices and the recordings', both [B, 1, T]. Unweighted.
    public static func fullBand(generated: Tensor, target: Tensor, loss: MultiResolutionSTFTLoss) -> Tensor {
        precondition(generated.shape == target.shape && generated.rank == 3 && generated.shape[1] == 1,
                     "full-band STFT loss: generated \(generated.shape) and target \(target.shape) must both be [B, 1, T]")
        let rows = generated.shape[0], length = generated.shape[2]
        let (sc, mag) = loss(generated: generated.reshaped([rows, length]), target: target.reshaped([rows, length]))
        return sc + mag
    }
}

/// The generator's waveform losses besides the mel loss, as the config selects them: the mb_istft
/// decoder's sub-band loss (weight 1, as its authors train it) and the full-band STFT loss
/// (`train.c_stft` > 0). One place for the trainer and `vits bench model`.
public struct WaveformLosses {
    let subband: (pqmf: PQMF, loss: MultiResolutionSTFTLoss)?
    let fullBand: (loss: MultiResolutionSTFTLoss, weight: Float)?

    public init(config: VITSConfig) {
        subband = config.model.decoder.kind == .mbISTFT
            ? (PQMF(subbands: config.model.decoder.subbands), MultiResolutionSTFTLoss(config.train.subbandLoss)) : nil
        fullBand = config.train.cSTFT > 0 ? (MultiResolutionSTFTLoss(config.train.stftLoss), Float(config.train.cSTFT)) : nil
    }

    /// The sub-band loss's target: the recordings' slices [B, 1, T] split by PQMF analysis into
    /// [B, S, T/S] (mb_istft only; nil when the config has no sub-band loss).
    public func subbandTarget(_ target: Tensor) -> Tensor? {
        subband.map { s in noGrad { s.pqmf.analysis(target) } }
    }

    /// The metric names of the terms `terms` returns, in its order.
    public var names: [String] { (subband != nil ? ["loss/g/subband"] : []) + (fullBand != nil ? ["loss/g/stft"] : []) }

    /// The weighted terms for the waveform slices `generated` (and the decoder's sub-bands) against
    /// the recordings' `target` slices, all [B, 1, T]; in the order of `names`.
    public func terms(generated: Tensor, generatedBands: Tensor?, target: Tensor) -> [Tensor] {
        var terms: [Tensor] = []
        if let subband {
            guard let generatedBands else { preconditionFailure("the mb_istft decoder returned no sub-bands") }
            terms.append(VITSLoss.subband(generatedBands: generatedBands, target: target, pqmf: subband.pqmf, loss: subband.loss))
        }
        if let fullBand {
            terms.append(VITSLoss.fullBand(generated: generated, target: target, loss: fullBand.loss) * fullBand.weight)
        }
        return terms
    }
}
