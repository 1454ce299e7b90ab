import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if _endian(big)
#error("Formats assumes a little-endian host (safetensors and our .npy files are little-endian)")
#endif

/// The text of the C `errno` for messages.
func errnoText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

/// A read-only open file descriptor, closed on deinit.
final class ReadableFile {
    let descriptor: Int32
    let size: Int

    /// Opens `path` for reading; `onError` builds the caller's typed error from a reason.
    init<E: Error>(path: String, onError: (String) -> E) throws(E) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw onError(errnoText()) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { let reason = errnoText(); close(fd); throw onError(reason) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { close(fd); throw onError("not a regular file") }
        descriptor = fd
        size = Int(info.st_size)
    }

    deinit { close(descriptor) }

    /// Reads exactly `count` bytes at `offset` into `buffer`; returns false on a short read (truncation).
    func read(into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int) throws(ReadFailure) -> Bool {
        var done = 0
        while done < count {
            let n = pread(descriptor, buffer + done, count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw ReadFailure(reason: errnoText())
            }
            if n == 0 { return false }
            done += n
        }
        return true
    }

    /// Reads `count` bytes at `offset` into a new array; nil on a short read (truncation).
    func readBytes(count: Int, at offset: Int) throws(ReadFailure) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var outcome: Result<Bool, ReadFailure> = .success(true)
        if count > 0 {
            bytes.withUnsafeMutableBytes { raw in
                outcome = Result { () throws(ReadFailure) in try read(into: raw.baseAddress!, count: count, at: offset) }
            }
        }
        return try outcome.get() ? bytes : nil
    }

    /// Reads `count` float32 values at `offset`; nil on a short read.
    func readFloats(count: Int, at offset: Int) throws(ReadFailure) -> [Float]? {
        var values = [Float](repeating: 0, count: count)
        var outcome: Result<Bool, ReadFailure> = .success(true)
        if count > 0 {
            values.withUnsafeMutableBytes { raw in
                outcome = Result { () throws(ReadFailure) in try read(into: raw.baseAddress!, count: count * 4, at: offset) }
            }
        }
        return try outcome.get() ? values : nil
    }

    struct ReadFailure: Error { let reason: String }
}

/// Writes a file atomically: the bytes go to a temporary file in the same directory, which is
/// fsynced and renamed over the destination only when everything was written. A failure at any
/// point removes the temporary file, so readers never see a partial output.
final class AtomicFileWriter {
    let destination: String
    let temporary: String
    private var descriptor: Int32
    private var finished = false

    struct Failure: Error { let reason: String }

    init(path: String) throws(Failure) {
        destination = path
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        temporary = directory + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw Failure(reason: errnoText()) }
    }

    deinit { if !finished { abort() } }

    func write(_ bytes: UnsafeRawBufferPointer) throws(Failure) {
        guard let base = bytes.baseAddress else { return }
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(descriptor, base + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(reason: errnoText())
            }
            done += n
        }
    }

    func write(_ bytes: [UInt8]) throws(Failure) {
        var outcome: Result<Void, Failure> = .success(())
        bytes.withUnsafeBytes { raw in outcome = Result { () throws(Failure) in try write(raw) } }
        try outcome.get()
    }

    /// fsync, close, rename over the destination, fsync the directory. With `durable: false` the
    /// syncs are skipped: still all-or-nothing if the process fails, but not across a power loss
    /// (for outputs that are cheap to recompute; the syncs cost ~30 ms of waiting per file here).
    func commit(durable: Bool = true) throws(Failure) {
        if durable {
            guard fsync(descriptor) == 0 else { let reason = errnoText(); abort(); throw Failure(reason: reason) }
        }
        close(descriptor)
        descriptor = -1
        guard rename(temporary, destination) == 0 else {
            let reason = errnoText(); abort(); throw Failure(reason: reason)
        }
        finished = true
        guard durable else { return }
        let directory = URL(fileURLWithPath: destination).deletingLastPathComponent().path
        let dirfd = open(directory, O_RDONLY | O_CLOEXEC)
        if dirfd >= 0 { _ = fsync(dirfd); close(dirfd) }
    }

    /// Drops the temporary file.
    func abort() {
        if descriptor >= 0 { close(descriptor); descriptor = -1 }
        unlink(temporary)
        finished = true
    }
}
