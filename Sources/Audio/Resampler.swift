import CSoxr

/// Sample-rate conversion with soxr at its very-high-quality setting (SOXR_VHQ: 175 dB stopband,
/// passband to 95 % of Nyquist, linear phase).
public enum Resampler {
    public static func resample(_ samples: [Float], from inputRate: Int, to outputRate: Int) throws(AudioError) -> [Float] {
        for rate in [inputRate, outputRate] where !AudioFile.supportedSampleRates.contains(rate) {
            throw .unsupportedSampleRate(path: "", rate: rate)
        }
        if inputRate == outputRate || samples.isEmpty { return samples }
        let capacity = Int((Double(samples.count) * Double(outputRate) / Double(inputRate)).rounded(.up)) + 16
        var output = [Float](repeating: 0, count: capacity)
        var ioSpec = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I)
        var qualitySpec = soxr_quality_spec(UInt(SOXR_VHQ), 0)
        var produced = 0
        let failure: soxr_error_t? = samples.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                soxr_oneshot(Double(inputRate), Double(outputRate), 1,
                             input.baseAddress, input.count, nil,
                             out.baseAddress, out.count, &produced,
                             &ioSpec, &qualitySpec, nil)
            }
        }
        if let failure { throw .resamplingFailed(reason: String(cString: failure)) }
        output.removeSubrange(produced...)
        return output
    }
}

extension MonoAudio {
    /// This audio at `rate` Hz (itself when the rate already matches).
    public func resampled(to rate: Int) throws(AudioError) -> MonoAudio {
        if rate == sampleRate { return self }
        return MonoAudio(samples: try Resampler.resample(samples, from: sampleRate, to: rate), sampleRate: rate)
    }
}
