import Foundation
import Engine

/// The VITS training losses (`losses.py` of the reference and the mel/duration terms of train.py),
/// as differentiable scalars. Fixture names in brackets.
public enum VITSLoss {
    /// LSGAN discriminator loss [`loss_disc`]: Σ_i mean((1 − D_i(y))²) + mean(D_i(ŷ)²), with the
    /// per-discriminator terms [`losses_disc_r`, `losses_disc_g`]. Pass logits of a detached ŷ.
    public static func discriminator(real: [Tensor], generated: [Tensor]) -> (total: Tensor, realTerms: [Tensor], generatedTerms: [Tensor]) {
        precondition(real.count == generated.count && !real.isEmpty, "discriminator loss: \(real.count) real vs \(generated.count) generated logits")
        var total: Tensor?
        var realTerms: [Tensor] = [], generatedTerms: [Tensor] = []
        for (r, g) in zip(real, generated) {
            let rTerm = (1 - r).square().mean()
            let gTerm = g.square().mean()
            realTerms.append(rTerm); generatedTerms.append(gTerm)
            let pair = rTerm + gTerm
            total = total.map { $0 + pair } ?? pair
        }
        return (total!, realTerms, generatedTerms)
    }

    /// LSGAN generator loss [`loss_gen`]: Σ_i mean((1 − D_i(ŷ))²), with the terms [`losses_gen`].
    public static func generator(_ generated: [Tensor]) -> (total: Tensor, terms: [Tensor]) {
        precondition(!generated.isEmpty, "generator loss of no logits")
        let terms = generated.map { (1 - $0).square().mean() }
        var total = terms[0]
        for t in terms.dropFirst() { total = total + t }
        return (total, terms)
    }

    /// Feature matching [`loss_fm`]: 2 · Σ_i Σ_l mean|fmap_r − fmap_g| with the real maps detached
    /// (no gradient reaches the real branch, as the reference's `.detach()`).
    public static func featureMatching(real: [[Tensor]], generated: [[Tensor]]) -> Tensor {
        precondition(real.count == generated.count && !real.isEmpty, "feature loss: \(real.count) vs \(generated.count) discriminators")
        var total: Tensor?
        for (rs, gs) in zip(real, generated) {
            precondition(rs.count == gs.count, "feature loss: \(rs.count) vs \(gs.count) feature maps")
            for (r, g) in zip(rs, gs) {
                let term = Tensor.meanAbsoluteError(g, target: r)
                total = total.map { $0 + term } ?? term
            }
        }
        return total! * 2
    }

    /// Mel reconstruction [`loss_mel`]: mean|y_mel − ŷ_mel| · c_mel (gradient to ŷ_mel only).
    public static func mel(target: Tensor, generated: Tensor, weight: Float) -> Tensor {
        Tensor.meanAbsoluteError(generated, target: target) * weight
    }

    /// KL term [`loss_kl` / c_kl]:
    /// Σ[(logs_p − logs_q − ½ + ½(z_p − m_p)²·e^{−2 logs_p})·mask] / Σ mask, on the full-length
    /// posterior z_p, logs_q [B, C, T] and the prior expanded to frames m_p, logs_p [B, C, T];
    /// mask [B, 1, T], so the normaliser counts frames, not frames × channels. Multiply by c_kl.
    public static func kl(zP: Tensor, logsQ: Tensor, mP: Tensor, logsP: Tensor, mask: Tensor) -> Tensor {
        precondition(zP.shape == logsQ.shape && zP.shape == mP.shape && zP.shape == logsP.shape,
                     "kl loss: shapes differ: z_p \(zP.shape), logs_q \(logsQ.shape), m_p \(mP.shape), logs_p \(logsP.shape)")
        var kl = logsP - logsQ - 0.5
        kl = kl + 0.5 * (zP - mP).square() * (logsP * -2).exp()
        let masked = (kl * mask).sum()
        return masked / mask.detached().sum()
    }

    /// Duration loss [`loss_dur`]: Σ of the per-item `l_length` [B].
    public static func duration(_ lLength: Tensor) -> Tensor { lLength.sum() }
}
