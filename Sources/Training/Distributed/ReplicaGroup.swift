import Foundation

/// The ranks of one data-parallel training job (MPI_COMM_WORLD): who am I, how many are we, and
/// the collectives training needs. Rank 0 is the writer (checkpoints, logs, samples).
/// Every call is collective: all ranks must make the same calls in the same order.
public final class ReplicaGroup: @unchecked Sendable {
    public let rank: Int
    public let size: Int
    private let mpi: MPILibrary
    /// Largest element count one MPI call is given (MPI counts are 32-bit).
    private static let maxChunk = 1 << 28

    /// Whether an MPI launcher started this process: Open MPI's `mpirun` sets OMPI_COMM_WORLD_SIZE,
    /// a PMIx launcher (Open MPI's, or Slurm's `srun --mpi=pmix`) sets PMIX_RANK.
    public static func launchedByMPI(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        environment["OMPI_COMM_WORLD_SIZE"] != nil || environment["PMIX_RANK"] != nil
    }

    /// Joins the job when an MPI launcher started this process, else nil (a single process, as without MPI).
    /// Loads Open MPI from VITS_MPI_LIBRARY, or `libmpi.so.40` on the library path.
    public static func joinIfLaunched() throws -> ReplicaGroup? {
        let env = ProcessInfo.processInfo.environment
        guard launchedByMPI(env) else { return nil }
        return try ReplicaGroup(library: env["VITS_MPI_LIBRARY"] ?? MPILibrary.defaultLibrary)
    }

    private init(library: String) throws {
        mpi = try MPILibrary(path: library)
        var provided: Int32 = 0
        try Self.check(mpi.initThread(nil, nil, MPILibrary.threadSerialized, &provided), "MPI_Init_thread")
        guard provided >= MPILibrary.threadSerialized else {
            _ = mpi.abort(mpi.commWorld, 1)
            throw TrainingError.io("the MPI library offers thread level \(provided); training needs MPI_THREAD_SERIALIZED (2)")
        }
        var r: Int32 = 0, s: Int32 = 0
        try Self.check(mpi.commRank(mpi.commWorld, &r), "MPI_Comm_rank")
        try Self.check(mpi.commSize(mpi.commWorld, &s), "MPI_Comm_size")
        rank = Int(r); size = Int(s)
    }

    private static func check(_ code: Int32, _ call: String) throws {
        guard code == 0 else { throw TrainingError.io("\(call) failed with MPI error code \(code)") }
    }

    /// Element-wise sum over all ranks, in place, in chunks below MPI's 32-bit count.
    public func allReduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {
        var done = 0
        while done < count {
            let n = min(Self.maxChunk, count - done)
            try Self.check(mpi.allreduce(mpi.inPlace, buffer + done, Int32(n), mpi.float, mpi.sum, mpi.commWorld), "MPI_Allreduce")
            done += n
        }
    }

    public func allReduceSum(_ values: inout [Float]) throws {
        try values.withUnsafeMutableBufferPointer { b in if let p = b.baseAddress { try allReduceSum(p, count: b.count) } }
    }

    public func allReduceSum(_ values: inout [Int32]) throws {
        guard !values.isEmpty else { return }
        try values.withUnsafeMutableBufferPointer { b in
            try Self.check(mpi.allreduce(mpi.inPlace, b.baseAddress, Int32(b.count), mpi.int32, mpi.sum, mpi.commWorld), "MPI_Allreduce")
        }
    }

    /// True on every rank when `flag` is true on any.
    public func any(_ flag: Bool) throws -> Bool {
        var v: [Int32] = [flag ? 1 : 0]
        try allReduceSum(&v)
        return v[0] > 0
    }

    /// Rank 0's `data` on every rank (the argument is ignored elsewhere).
    public func broadcast(_ data: Data) throws -> Data {
        var length: [Int32] = [0, 0]
        if rank == 0 { length = [Int32(truncatingIfNeeded: data.count & 0x7FFF_FFFF), Int32(truncatingIfNeeded: data.count >> 31)] }
        try length.withUnsafeMutableBufferPointer { b in
            try Self.check(mpi.bcast(b.baseAddress, 2, mpi.int32, 0, mpi.commWorld), "MPI_Bcast")
        }
        let count = Int(length[0]) | Int(length[1]) << 31
        var bytes = rank == 0 ? [UInt8](data) : [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeMutableBytes { b in
            var done = 0
            while done < count {
                let n = min(Self.maxChunk, count - done)
                try Self.check(mpi.bcast(b.baseAddress! + done, Int32(n), mpi.byte, 0, mpi.commWorld), "MPI_Bcast")
                done += n
            }
        }
        return Data(bytes)
    }

    public func barrier() throws { try Self.check(mpi.barrier(mpi.commWorld), "MPI_Barrier") }

    /// Ends every rank of the job (after this rank printed why).
    public func abort(code: Int32 = 1) -> Never {
        _ = mpi.abort(mpi.commWorld, code)
        exit(code)
    }

    /// Leaves MPI at the end of a successful run (after a barrier, so no rank exits while others still talk).
    public func finish() throws {
        try barrier()
        try Self.check(mpi.finalize(), "MPI_Finalize")
    }
}
