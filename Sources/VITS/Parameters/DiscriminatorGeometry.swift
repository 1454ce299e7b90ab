/// One convolution of a discriminator. Period discriminators use (kernel, 1) kernels and (stride, 1)
/// strides over the [T/p, p] view, so the same description covers both kinds.
public struct DiscriminatorConv: Equatable, Sendable {
    public let inChannels: Int
    public let outChannels: Int
    public let kernel: Int
    public let stride: Int
    public let groups: Int
    public let padding: Int
}

/// Layer shapes of the multi-period discriminator, optionally narrowed by
/// `model.discriminator_width_multiplier` (our extension; 1 = reference).
///
/// Scaling rule: every channel count is multiplied by the multiplier and must stay a whole number
/// (so the multiplier is a multiple of 1/16); grouped convs of DiscriminatorS keep the reference
/// group count times the multiplier, at least 1 — the reference keeps 4 input channels per group.
public struct DiscriminatorGeometry: Equatable, Sendable {
    /// DiscriminatorS `convs.0 … convs.5` (1-D over raw audio).
    public let scaleConvs: [DiscriminatorConv]
    /// DiscriminatorS `conv_post`.
    public let scalePost: DiscriminatorConv
    /// DiscriminatorP `convs.0 … convs.4`, kernel (k, 1), stride (s, 1), padding (p, 0).
    public let periodConvs: [DiscriminatorConv]
    /// DiscriminatorP `conv_post`.
    public let periodPost: DiscriminatorConv

    /// The reference geometry (hifi-gan / VITS `MultiPeriodDiscriminator`).
    public static let reference = make(widthMultiplier: 1)!

    /// nil when some scaled channel count is not a whole number.
    public static func make(widthMultiplier m: Double) -> DiscriminatorGeometry? {
        guard m > 0, m.isFinite else { return nil }
        func width(_ c: Int) -> Int? {
            let v = Double(c) * m
            guard v == v.rounded(), v >= 1, v <= 65536 else { return nil }
            return Int(v)
        }
        func groups(_ g: Int) -> Int { max(1, Int((Double(g) * m).rounded(.down))) }

        // DiscriminatorS: (in, out, kernel, stride, groups, padding) of the reference.
        let s: [(Int, Int, Int, Int, Int, Int)] = [
            (1, 16, 15, 1, 1, 7), (16, 64, 41, 4, 4, 20), (64, 256, 41, 4, 16, 20),
            (256, 1024, 41, 4, 64, 20), (1024, 1024, 41, 4, 256, 20), (1024, 1024, 5, 1, 1, 2),
        ]
        var scaleConvs: [DiscriminatorConv] = []
        for (i, layer) in s.enumerated() {
            let cin = i == 0 ? 1 : width(layer.0), cout = width(layer.1)
            guard let cin, let cout else { return nil }
            let g = layer.4 == 1 ? 1 : groups(layer.4)
            guard cin % g == 0, cout % g == 0 else { return nil }
            scaleConvs.append(DiscriminatorConv(inChannels: cin, outChannels: cout, kernel: layer.2, stride: layer.3, groups: g, padding: layer.5))
        }
        guard let sLast = width(1024) else { return nil }
        let scalePost = DiscriminatorConv(inChannels: sLast, outChannels: 1, kernel: 3, stride: 1, groups: 1, padding: 1)

        // DiscriminatorP: kernel (5,1), padding (2,0); stride 3 except the last conv.
        let p: [(Int, Int, Int)] = [(1, 32, 3), (32, 128, 3), (128, 512, 3), (512, 1024, 3), (1024, 1024, 1)]
        var periodConvs: [DiscriminatorConv] = []
        for (i, layer) in p.enumerated() {
            let cin = i == 0 ? 1 : width(layer.0), cout = width(layer.1)
            guard let cin, let cout else { return nil }
            periodConvs.append(DiscriminatorConv(inChannels: cin, outChannels: cout, kernel: 5, stride: layer.2, groups: 1, padding: 2))
        }
        guard let pLast = width(1024) else { return nil }
        let periodPost = DiscriminatorConv(inChannels: pLast, outChannels: 1, kernel: 3, stride: 1, groups: 1, padding: 1)
        return DiscriminatorGeometry(scaleConvs: scaleConvs, scalePost: scalePost, periodConvs: periodConvs, periodPost: periodPost)
    }
}
