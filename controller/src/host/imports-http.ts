// The `env.proxy_*` host functions on an HTTP stream's data: header maps (headers and trailers of
// the request and response) and buffers (bodies, configurations), following proxy-wasm-cpp-host
// src/exports.cc and Envoy's wasm Context. Part of envImports (imports.ts), with the same rules:
// every function checks the start-up restriction first and acts on `host.effective ?? host.current`.

import { BUFFER_TYPE_MAX, HEADER_MAP_TYPE_MAX, WasmResult as R } from "./abi.js";
import { deserializePairs } from "./headers.js";
import type { HostCalls } from "./host-calls.js";

type HostFn = (...args: never[]) => unknown;

/** The header-map and buffer functions for one VM. */
export function httpImports(host: HostCalls): Record<string, HostFn> {
  const EMPTY = new Uint8Array(0);
  const ctx = () => host.effective ?? host.current;
  const restricted = (name: string): never => host.restricted(`env.${name}`);
  /** proxy_add_header_map_value (`replace` false) and proxy_replace_header_map_value (true). */
  const writeHeader = (
    type: number,
    keyPtr: number,
    keySize: number,
    valuePtr: number,
    valueSize: number,
    replace: boolean,
  ): number => {
    if (type >>> 0 > HEADER_MAP_TYPE_MAX) return R.BadArgument;
    const m = host.mem;
    m.sync();
    const key = m.nameAt(keyPtr >>> 0, keySize >>> 0);
    const value = m.str(valuePtr >>> 0, valueSize >>> 0);
    if (key === null || value === null) return R.InvalidMemoryAccess;
    const map = ctx().headerMap(type, true);
    if (map === null) return R.BadArgument;
    if (replace) map.replace(key, value);
    else map.add(key, value);
    return R.Ok;
  };

  return {
    proxy_get_header_map_value(
      type: number,
      keyPtr: number,
      keySize: number,
      valuePtrPtr: number,
      valueSizePtr: number,
    ): number {
      if (host.starting) restricted("proxy_get_header_map_value");
      if (type >>> 0 > HEADER_MAP_TYPE_MAX) return R.BadArgument;
      const m = host.mem;
      m.sync();
      const key = m.nameAt(keyPtr >>> 0, keySize >>> 0);
      if (key === null) return R.InvalidMemoryAccess;
      const c = ctx();
      const map = c.headerMap(type, false);
      // Envoy: a map that is not (or no longer) available is BadArgument, except in on_log.
      if (map === null) return c.logPhase ? R.NotFound : R.BadArgument;
      const value = map.get(key);
      if (value === undefined) return R.NotFound;
      return m.copyOutString(value, valuePtrPtr >>> 0, valueSizePtr >>> 0) ? R.Ok : R.InvalidMemoryAccess;
    },

    proxy_add_header_map_value(
      type: number,
      keyPtr: number,
      keySize: number,
      valuePtr: number,
      valueSize: number,
    ): number {
      if (host.starting) restricted("proxy_add_header_map_value");
      return writeHeader(type, keyPtr, keySize, valuePtr, valueSize, false);
    },

    proxy_replace_header_map_value(
      type: number,
      keyPtr: number,
      keySize: number,
      valuePtr: number,
      valueSize: number,
    ): number {
      if (host.starting) restricted("proxy_replace_header_map_value");
      return writeHeader(type, keyPtr, keySize, valuePtr, valueSize, true);
    },

    proxy_remove_header_map_value(type: number, keyPtr: number, keySize: number): number {
      if (host.starting) restricted("proxy_remove_header_map_value");
      if (type >>> 0 > HEADER_MAP_TYPE_MAX) return R.BadArgument;
      const m = host.mem;
      m.sync();
      const key = m.nameAt(keyPtr >>> 0, keySize >>> 0);
      if (key === null) return R.InvalidMemoryAccess;
      const map = ctx().headerMap(type, true);
      if (map === null) return R.BadArgument;
      map.remove(key);
      return R.Ok;
    },

    /** An unavailable map yields Ok with an empty result (ptr 0, size 0), as in Envoy. */
    proxy_get_header_map_pairs(type: number, ptrPtr: number, sizePtr: number): number {
      if (host.starting) restricted("proxy_get_header_map_pairs");
      if (type >>> 0 > HEADER_MAP_TYPE_MAX) return R.BadArgument;
      const m = host.mem;
      m.sync();
      const map = ctx().headerMap(type, false);
      const data = map === null || map.count === 0 ? EMPTY : map.serialize();
      return m.copyOut(data, ptrPtr >>> 0, sizePtr >>> 0) ? R.Ok : R.InvalidMemoryAccess;
    },

    proxy_set_header_map_pairs(type: number, ptr: number, size: number): number {
      if (host.starting) restricted("proxy_set_header_map_pairs");
      if (type >>> 0 > HEADER_MAP_TYPE_MAX) return R.BadArgument;
      const m = host.mem;
      m.sync();
      const data = m.bytes(ptr >>> 0, size >>> 0);
      if (data === null) return R.InvalidMemoryAccess;
      const map = ctx().headerMap(type, true);
      if (map === null) return R.BadArgument;
      map.setPairs(deserializePairs(data));
      return R.Ok;
    },

    /** Envoy returns the map's byte size (keys + values), and needs the mutable map. */
    proxy_get_header_map_size(type: number, resultPtr: number): number {
      if (host.starting) restricted("proxy_get_header_map_size");
      if (type >>> 0 > HEADER_MAP_TYPE_MAX) return R.BadArgument;
      const map = ctx().headerMap(type, true);
      if (map === null) return R.BadArgument;
      const m = host.mem;
      m.sync();
      return m.setU32(resultPtr >>> 0, map.byteSize()) ? R.Ok : R.InvalidMemoryAccess;
    },

    proxy_get_buffer_status(type: number, lengthPtr: number, flagsPtr: number): number {
      if (host.starting) restricted("proxy_get_buffer_status");
      if (type >>> 0 > BUFFER_TYPE_MAX) return R.BadArgument;
      const buf = ctx().buffer(type);
      if (buf === null) return R.NotFound;
      const m = host.mem;
      m.sync();
      return m.setU32(lengthPtr >>> 0, buf.length) && m.setU32(flagsPtr >>> 0, 0)
        ? R.Ok
        : R.InvalidMemoryAccess;
    },

    /**
     * Copies [start, start+length) clipped to the buffer. Like Envoy, nothing is written (and Ok is
     * returned) when the clipped length is 0. A start beyond the end is BadArgument here.
     */
    proxy_get_buffer_bytes(
      type: number,
      start: number,
      length: number,
      ptrPtr: number,
      sizePtr: number,
    ): number {
      if (host.starting) restricted("proxy_get_buffer_bytes");
      if (type >>> 0 > BUFFER_TYPE_MAX) return R.BadArgument;
      const buf = ctx().buffer(type);
      if (buf === null) return R.NotFound;
      start >>>= 0;
      length >>>= 0;
      if (start + length > 0xffffffff || start > buf.length) return R.BadArgument;
      if (start + length > buf.length) length = buf.length - start;
      if (length === 0) return R.Ok;
      const m = host.mem;
      m.sync();
      return m.copyOut(buf.subarray(start, start + length), ptrPtr >>> 0, sizePtr >>> 0)
        ? R.Ok
        : R.InvalidMemoryAccess;
    },

    proxy_set_buffer_bytes(
      type: number,
      start: number,
      length: number,
      dataPtr: number,
      dataSize: number,
    ): number {
      if (host.starting) restricted("proxy_set_buffer_bytes");
      if (type >>> 0 > BUFFER_TYPE_MAX) return R.BadArgument;
      const m = host.mem;
      m.sync();
      const data = m.bytes(dataPtr >>> 0, dataSize >>> 0);
      if (data === null) return R.InvalidMemoryAccess;
      return ctx().setBuffer(type, start >>> 0, length >>> 0, data);
    },
  };
}
