import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Open MPI, loaded at run time (`dlopen`) only when the process was started by an MPI launcher:
/// the binary has no link-time MPI dependency, so a single-process user needs no MPI at all
/// (docs/training.md, "Several machines"). Only the handful of calls data-parallel training needs
/// are resolved. In Open MPI the predefined handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, …) are the
/// addresses of exported globals (`ompi_mpi_comm_world`, `ompi_mpi_float`, `ompi_mpi_op_sum`, …),
/// which is what `mpi.h` expands them to; `MPI_IN_PLACE` is the address 1.
final class MPILibrary: @unchecked Sendable {
    typealias InitThread = @convention(c) (UnsafeMutablePointer<Int32>?, UnsafeMutableRawPointer?, Int32, UnsafeMutablePointer<Int32>?) -> Int32
    typealias CommQuery = @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int32>?) -> Int32
    typealias Allreduce = @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32, OpaquePointer?, OpaquePointer?, OpaquePointer?) -> Int32
    typealias Bcast = @convention(c) (UnsafeMutableRawPointer?, Int32, OpaquePointer?, Int32, OpaquePointer?) -> Int32
    typealias CommOnly = @convention(c) (OpaquePointer?) -> Int32
    typealias Abort = @convention(c) (OpaquePointer?, Int32) -> Int32
    typealias NoArgs = @convention(c) () -> Int32

    /// The shared object name of Open MPI 3.x, 4.x and 5.x (Debian: `libopenmpi3`).
    static let defaultLibrary = "libmpi.so.40"
    /// MPI_THREAD_SERIALIZED in Open MPI's numbering (SINGLE 0, FUNNELED 1, SERIALIZED 2, MULTIPLE 3):
    /// MPI is called from one thread at a time; the engine's worker threads never call it.
    static let threadSerialized: Int32 = 2

    let initThread: InitThread
    let commRank: CommQuery
    let commSize: CommQuery
    let allreduce: Allreduce
    let bcast: Bcast
    let barrier: CommOnly
    let abort: Abort
    let finalize: NoArgs
    let commWorld: OpaquePointer
    let float: OpaquePointer
    let int32: OpaquePointer
    let byte: OpaquePointer
    let sum: OpaquePointer
    let inPlace = UnsafeRawPointer(bitPattern: 1)

    /// Opens `path` (RTLD_GLOBAL: Open MPI's own plug-ins resolve libmpi's symbols through it).
    init(path: String) throws {
        guard let handle = dlopen(path, RTLD_NOW | RTLD_GLOBAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown reason"
            throw TrainingError.io("this process was started by an MPI launcher, but Open MPI's library \(path) could not be loaded (\(reason)). Install Open MPI (Debian: apt-get install openmpi-bin libopenmpi3), or set VITS_MPI_LIBRARY to the path of your cluster's libmpi.so.40")
        }
        func symbol(_ name: String) throws -> UnsafeMutableRawPointer {
            guard let p = dlsym(handle, name) else {
                throw TrainingError.io("\(path) has no symbol \(name): it is not Open MPI 3.x–5.x (VITS loads Open MPI only)")
            }
            return p
        }
        initThread = unsafeBitCast(try symbol("MPI_Init_thread"), to: InitThread.self)
        commRank = unsafeBitCast(try symbol("MPI_Comm_rank"), to: CommQuery.self)
        commSize = unsafeBitCast(try symbol("MPI_Comm_size"), to: CommQuery.self)
        allreduce = unsafeBitCast(try symbol("MPI_Allreduce"), to: Allreduce.self)
        bcast = unsafeBitCast(try symbol("MPI_Bcast"), to: Bcast.self)
        barrier = unsafeBitCast(try symbol("MPI_Barrier"), to: CommOnly.self)
        abort = unsafeBitCast(try symbol("MPI_Abort"), to: Abort.self)
        finalize = unsafeBitCast(try symbol("MPI_Finalize"), to: NoArgs.self)
        commWorld = OpaquePointer(try symbol("ompi_mpi_comm_world"))
        float = OpaquePointer(try symbol("ompi_mpi_float"))
        int32 = OpaquePointer(try symbol("ompi_mpi_int"))
        byte = OpaquePointer(try symbol("ompi_mpi_byte"))
        sum = OpaquePointer(try symbol("ompi_mpi_op_sum"))
    }
}
