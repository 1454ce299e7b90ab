import Foundation

/// Slaney-style mel filterbank, the definition of `librosa.filters.mel(htk=False, norm="slaney")`
/// that VITS uses: triangular filters on the Slaney mel scale (linear below 1 kHz, logarithmic
/// above), each scaled by 2 / (its bandwidth in Hz) so all filters have equal area.
public enum MelFilterbank {
    /// Weights [nMels, nFFT/2 + 1], row-major. Computed in Double and rounded to Float in the same
    /// two steps as librosa (triangle rounded to float32, then multiplied by the area normalisation),
    /// so it equals librosa's float32 result to the last bit or two.
    public static func slaney(sampleRate: Int, nFFT: Int, nMels: Int, fmin: Double, fmax: Double) -> [Float] {
        let bins = nFFT / 2 + 1
        // np.fft.rfftfreq(n_fft, d=1/sr): k · (1 / (n_fft · (1/sr)))
        let binSpacing = 1.0 / (Double(nFFT) * (1.0 / Double(sampleRate)))
        // Band edges: n_mels + 2 points evenly spaced in mel between fmin and fmax (numpy linspace).
        let edgeCount = nMels + 2
        let lowMel = hzToMel(fmin), highMel = hzToMel(fmax)
        let step = (highMel - lowMel) / Double(edgeCount - 1)
        var edges = (0..<edgeCount).map { melToHz(Double($0) * step + lowMel) }
        edges[edgeCount - 1] = melToHz(highMel)

        var weights = [Float](repeating: 0, count: nMels * bins)
        for m in 0..<nMels {
            let lowerWidth = edges[m + 1] - edges[m], upperWidth = edges[m + 2] - edges[m + 1]
            let norm = 2.0 / (edges[m + 2] - edges[m])
            for k in 0..<bins {
                let f = Double(k) * binSpacing
                let rising = -(edges[m] - f) / lowerWidth
                let falling = (edges[m + 2] - f) / upperWidth
                let triangle = Float(max(0, min(rising, falling)))
                weights[m * bins + k] = Float(Double(triangle) * norm)
            }
        }
        return weights
    }

    /// Slaney mel scale: 3 mels per 200 Hz up to 1 kHz, then 27 mels per factor 6.4.
    public static func hzToMel(_ hz: Double) -> Double {
        let linearStep = 200.0 / 3, logStart = 1000.0
        if hz < logStart { return hz / linearStep }
        return logStart / linearStep + Foundation.log(hz / logStart) / (Foundation.log(6.4) / 27)
    }

    public static func melToHz(_ mel: Double) -> Double {
        let linearStep = 200.0 / 3, logStart = 1000.0, logStartMel = logStart / linearStep
        if mel < logStartMel { return mel * linearStep }
        return logStart * Foundation.exp(Foundation.log(6.4) / 27 * (mel - logStartMel))
    }
}

/// Analysis windows.
public enum SpectrogramWindow {
    /// Periodic Hann window (`torch.hann_window(n)`, `scipy.signal.get_window("hann", n)`):
    /// w[i] = 0.5 − 0.5·cos(2πi / n).
    public static func hann(length: Int) -> [Float] {
        (0..<length).map { Float(0.5 - 0.5 * Foundation.cos(2 * Double.pi * Double($0) / Double(length))) }
    }
}
