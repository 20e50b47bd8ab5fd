// The `env.proxy_*` host functions of ABI 0.2.1, following proxy-wasm-cpp-host src/exports.cc (memory
// checks, out-params) and Envoy's wasm Context (header maps, buffers, properties, local replies).
// Every function reads the current context as `host.effective ?? host.current` (cpp-host
// contextOrEffectiveContext) and returns a WasmResult code.

import { ENV_IMPORTS, LogLevel, STREAM_TYPE_MAX, WasmResult as R } from "./abi.js";
import { deserializePairs } from "./headers.js";
import type { HostCalls } from "./host-calls.js";
import { httpImports } from "./imports-http.js";

type HostFn = (...args: never[]) => unknown;

/** Builds the env functions for one VM (all of ENV_IMPORTS; header maps and buffers in imports-http.ts). */
export function envImports(host: HostCalls): Record<string, HostFn> {
  const EMPTY = new Uint8Array(0);
  const ctx = () => host.effective ?? host.current;
  // Envoy refuses host calls while the VM starts (_initialize, _start, a start section), except the
  // few ALLOWED_DURING_START lists. Every function below that it does not list checks that itself,
  // first thing: a generic wrapper around each import would send every call through one shared,
  // megamorphic call site, which costs more than the check.
  const restricted = (name: string): never => host.restricted(`env.${name}`);

  const fns: Record<string, HostFn> = {
    proxy_log(level: number, ptr: number, size: number): number {
      if (level >>> 0 > LogLevel.critical) return R.BadArgument;
      const m = host.mem;
      m.sync();
      const msg = m.str(ptr >>> 0, size >>> 0);
      if (msg === null) return R.InvalidMemoryAccess;
      host.guestLog(level, msg, "proxy_log");
      return R.Ok;
    },

    proxy_get_log_level(ptr: number): number {
      if (host.starting) restricted("proxy_get_log_level");
      const m = host.mem;
      m.sync();
      return m.setU32(ptr >>> 0, host.logLevel) ? R.Ok : R.InvalidMemoryAccess;
    },

    /** No gRPC calls here, so the status is always (0, ""). */
    proxy_get_status(codePtr: number, msgPtrPtr: number, msgSizePtr: number): number {
      if (host.starting) restricted("proxy_get_status");
      const m = host.mem;
      m.sync();
      if (!m.setU32(codePtr >>> 0, 0)) return R.InvalidMemoryAccess;
      return m.copyOut(EMPTY, msgPtrPtr >>> 0, msgSizePtr >>> 0) ? R.Ok : R.InvalidMemoryAccess;
    },

    proxy_set_property(pathPtr: number, pathSize: number, valuePtr: number, valueSize: number): number {
      if (host.starting) restricted("proxy_set_property");
      const m = host.mem;
      m.sync();
      const path = m.str(pathPtr >>> 0, pathSize >>> 0);
      const value = m.bytes(valuePtr >>> 0, valueSize >>> 0);
      if (path === null || value === null) return R.InvalidMemoryAccess;
      return ctx().setProperty(path, value);
    },

    proxy_get_property(pathPtr: number, pathSize: number, valuePtrPtr: number, valueSizePtr: number): number {
      if (host.starting) restricted("proxy_get_property");
      const m = host.mem;
      m.sync();
      const path = m.strAt(pathPtr >>> 0, pathSize >>> 0);
      if (path === null) return R.InvalidMemoryAccess;
      const r = ctx().property(path);
      if (r.code !== R.Ok) return r.code;
      return m.copyOut(r.value as Uint8Array, valuePtrPtr >>> 0, valueSizePtr >>> 0)
        ? R.Ok
        : R.InvalidMemoryAccess;
    },

    proxy_send_local_response(
      status: number,
      detailsPtr: number,
      detailsSize: number,
      bodyPtr: number,
      bodySize: number,
      pairsPtr: number,
      pairsSize: number,
      grpcStatus: number,
    ): number {
      if (host.starting) restricted("proxy_send_local_response");
      const m = host.mem;
      m.sync();
      const details = m.str(detailsPtr >>> 0, detailsSize >>> 0);
      const body = m.str(bodyPtr >>> 0, bodySize >>> 0);
      const pairs = m.bytes(pairsPtr >>> 0, pairsSize >>> 0);
      if (details === null || body === null || pairs === null) return R.InvalidMemoryAccess;
      ctx().sendLocalResponse(status >>> 0, body, details, deserializePairs(pairs), grpcStatus | 0);
      return R.Ok;
    },

    proxy_continue_stream(type: number): number {
      if (host.starting) restricted("proxy_continue_stream");
      if (type >>> 0 > STREAM_TYPE_MAX) return R.BadArgument;
      ctx().streamCall("continue", type);
      return R.Ok;
    },

    proxy_close_stream(type: number): number {
      if (host.starting) restricted("proxy_close_stream");
      if (type >>> 0 > STREAM_TYPE_MAX) return R.BadArgument;
      ctx().streamCall("close", type);
      return R.Ok;
    },

    proxy_get_shared_data(
      keyPtr: number,
      keySize: number,
      valuePtrPtr: number,
      valueSizePtr: number,
      casPtr: number,
    ): number {
      if (host.starting) restricted("proxy_get_shared_data");
      const m = host.mem;
      m.sync();
      const key = m.str(keyPtr >>> 0, keySize >>> 0);
      if (key === null) return R.InvalidMemoryAccess;
      const e = host.sharedData.get(host.vmId, key);
      if (e === undefined) return R.NotFound;
      if (!m.copyOut(e.value, valuePtrPtr >>> 0, valueSizePtr >>> 0)) return R.InvalidMemoryAccess;
      return m.setU32(casPtr >>> 0, e.cas) ? R.Ok : R.InvalidMemoryAccess;
    },

    proxy_set_shared_data(
      keyPtr: number,
      keySize: number,
      valuePtr: number,
      valueSize: number,
      cas: number,
    ): number {
      if (host.starting) restricted("proxy_set_shared_data");
      const m = host.mem;
      m.sync();
      const key = m.str(keyPtr >>> 0, keySize >>> 0);
      const value = m.bytes(valuePtr >>> 0, valueSize >>> 0);
      if (key === null || value === null) return R.InvalidMemoryAccess;
      return host.sharedData.set(host.vmId, key, value, cas >>> 0);
    },

    proxy_register_shared_queue(namePtr: number, nameSize: number, tokenPtr: number): number {
      if (host.starting) restricted("proxy_register_shared_queue");
      const m = host.mem;
      m.sync();
      const name = m.str(namePtr >>> 0, nameSize >>> 0);
      if (name === null) return R.InvalidMemoryAccess;
      const root = ctx().rootContextId();
      const token = host.sharedData.registerQueue(host.vmId, name, host, root);
      return m.setU32(tokenPtr >>> 0, token) ? R.Ok : R.InvalidMemoryAccess;
    },

    proxy_resolve_shared_queue(
      vmIdPtr: number,
      vmIdSize: number,
      namePtr: number,
      nameSize: number,
      tokenPtr: number,
    ): number {
      if (host.starting) restricted("proxy_resolve_shared_queue");
      const m = host.mem;
      m.sync();
      const vmId = m.str(vmIdPtr >>> 0, vmIdSize >>> 0);
      const name = m.str(namePtr >>> 0, nameSize >>> 0);
      if (vmId === null || name === null) return R.InvalidMemoryAccess;
      const token = host.sharedData.resolveQueue(vmId === "" ? host.vmId : vmId, name);
      if (token === undefined) return R.NotFound;
      return m.setU32(tokenPtr >>> 0, token) ? R.Ok : R.InvalidMemoryAccess;
    },

    proxy_dequeue_shared_queue(token: number, dataPtrPtr: number, dataSizePtr: number): number {
      if (host.starting) restricted("proxy_dequeue_shared_queue");
      const r = host.sharedData.dequeue(token >>> 0);
      if (r.code !== R.Ok) return r.code;
      const m = host.mem;
      m.sync();
      return m.copyOut(r.value as Uint8Array, dataPtrPtr >>> 0, dataSizePtr >>> 0)
        ? R.Ok
        : R.InvalidMemoryAccess;
    },

    proxy_enqueue_shared_queue(token: number, dataPtr: number, dataSize: number): number {
      if (host.starting) restricted("proxy_enqueue_shared_queue");
      const m = host.mem;
      m.sync();
      const data = m.bytes(dataPtr >>> 0, dataSize >>> 0);
      if (data === null) return R.InvalidMemoryAccess;
      const r = host.sharedData.enqueue(token >>> 0, data);
      if (r.code === R.Ok && r.owner !== undefined) {
        const owner = r.owner;
        const root = r.rootContextId as number;
        host.afterCall(() => owner.notify(root, token >>> 0));
      }
      return r.code;
    },

    ...httpImports(host),

    /** This host has no upstream clusters: like Envoy for an unknown cluster, BadArgument. */
    proxy_http_call(
      uriPtr: number,
      uriSize: number,
      headersPtr: number,
      headersSize: number,
      bodyPtr: number,
      bodySize: number,
      trailersPtr: number,
      trailersSize: number,
      _timeoutMs: number,
      tokenPtr: number,
    ): number {
      if (host.starting) restricted("proxy_http_call");
      const m = host.mem;
      m.sync();
      const uri = m.str(uriPtr >>> 0, uriSize >>> 0);
      if (
        uri === null ||
        !m.ok(headersPtr >>> 0, headersSize >>> 0) ||
        !m.ok(bodyPtr >>> 0, bodySize >>> 0) ||
        !m.ok(trailersPtr >>> 0, trailersSize >>> 0) ||
        !m.setU32(tokenPtr >>> 0, 0)
      ) {
        return R.InvalidMemoryAccess;
      }
      host.hostLog(1, `proxy_http_call to "${uri}": no such cluster in this host (BadArgument)`);
      return R.BadArgument;
    },

    /** Envoy's 12-argument form; the service is no known cluster here, so ParseFailure as in Envoy. */
    proxy_grpc_call(
      servicePtr: number,
      serviceSize: number,
      serviceNamePtr: number,
      serviceNameSize: number,
      methodPtr: number,
      methodSize: number,
      metadataPtr: number,
      metadataSize: number,
      requestPtr: number,
      requestSize: number,
    ): number {
      if (host.starting) restricted("proxy_grpc_call");
      const m = host.mem;
      m.sync();
      const ok =
        m.ok(servicePtr >>> 0, serviceSize >>> 0) &&
        m.ok(serviceNamePtr >>> 0, serviceNameSize >>> 0) &&
        m.ok(methodPtr >>> 0, methodSize >>> 0) &&
        m.ok(metadataPtr >>> 0, metadataSize >>> 0) &&
        m.ok(requestPtr >>> 0, requestSize >>> 0);
      return ok ? R.ParseFailure : R.InvalidMemoryAccess;
    },

    proxy_grpc_stream(
      servicePtr: number,
      serviceSize: number,
      serviceNamePtr: number,
      serviceNameSize: number,
      methodPtr: number,
      methodSize: number,
      metadataPtr: number,
      metadataSize: number,
    ): number {
      if (host.starting) restricted("proxy_grpc_stream");
      const m = host.mem;
      m.sync();
      const ok =
        m.ok(servicePtr >>> 0, serviceSize >>> 0) &&
        m.ok(serviceNamePtr >>> 0, serviceNameSize >>> 0) &&
        m.ok(methodPtr >>> 0, methodSize >>> 0) &&
        m.ok(metadataPtr >>> 0, metadataSize >>> 0);
      return ok ? R.ParseFailure : R.InvalidMemoryAccess;
    },

    proxy_grpc_close(): number {
      if (host.starting) restricted("proxy_grpc_close");
      return R.NotFound;
    },
    proxy_grpc_cancel(): number {
      if (host.starting) restricted("proxy_grpc_cancel");
      return R.NotFound;
    },
    proxy_grpc_send(_token: number, messagePtr: number, messageSize: number): number {
      if (host.starting) restricted("proxy_grpc_send");
      const m = host.mem;
      m.sync();
      return m.ok(messagePtr >>> 0, messageSize >>> 0) ? R.NotFound : R.InvalidMemoryAccess;
    },

    proxy_set_tick_period_milliseconds(periodMs: number): number {
      if (host.starting) restricted("proxy_set_tick_period_milliseconds");
      ctx().setTickPeriod(periodMs >>> 0);
      return R.Ok;
    },

    proxy_get_current_time_nanoseconds(resultPtr: number): number {
      if (host.starting) restricted("proxy_get_current_time_nanoseconds");
      const m = host.mem;
      m.sync();
      return m.setU64(resultPtr >>> 0, host.now()) ? R.Ok : R.InvalidMemoryAccess;
    },

    proxy_define_metric(type: number, namePtr: number, nameSize: number, idPtr: number): number {
      if (host.starting) restricted("proxy_define_metric");
      const m = host.mem;
      m.sync();
      const name = m.str(namePtr >>> 0, nameSize >>> 0);
      if (name === null) return R.InvalidMemoryAccess;
      const r = host.metricStore.define(type >>> 0, name);
      if (r.code !== R.Ok) return r.code;
      return m.setU32(idPtr >>> 0, r.id as number) ? R.Ok : R.InvalidMemoryAccess;
    },

    proxy_increment_metric(id: number, delta: bigint): number {
      if (host.starting) restricted("proxy_increment_metric");
      return host.metricStore.increment(id >>> 0, delta);
    },

    proxy_record_metric(id: number, value: bigint): number {
      if (host.starting) restricted("proxy_record_metric");
      return host.metricStore.record(id >>> 0, value);
    },

    proxy_get_metric(id: number, resultPtr: number): number {
      if (host.starting) restricted("proxy_get_metric");
      const r = host.metricStore.get(id >>> 0);
      if (r.code !== R.Ok) return r.code;
      const m = host.mem;
      m.sync();
      return m.setU64(resultPtr >>> 0, r.value as bigint) ? R.Ok : R.InvalidMemoryAccess;
    },

    /** Context 0 resets to the calling context; an unknown id is BadArgument. */
    proxy_set_effective_context(id: number): number {
      if (host.starting) restricted("proxy_set_effective_context");
      return host.setEffectiveContext(id >>> 0);
    },

    proxy_done(): number {
      if (host.starting) restricted("proxy_done");
      return ctx().done();
    },

    /** No foreign functions are registered in this host. */
    proxy_call_foreign_function(
      namePtr: number,
      nameSize: number,
      argsPtr: number,
      argsSize: number,
    ): number {
      if (host.starting) restricted("proxy_call_foreign_function");
      const m = host.mem;
      m.sync();
      const name = m.str(namePtr >>> 0, nameSize >>> 0);
      if (name === null || !m.ok(argsPtr >>> 0, argsSize >>> 0)) return R.InvalidMemoryAccess;
      host.hostLog(1, `proxy_call_foreign_function("${name}"): not registered in this host (NotFound)`);
      return R.NotFound;
    },

    pthread_equal(a: number, b: number): number {
      if (host.starting) restricted("pthread_equal");
      return a === b ? 1 : 0;
    },

    emscripten_notify_memory_growth(): void {
      if (host.starting) restricted("emscripten_notify_memory_growth");
      host.mem.sync();
    },
  };

  for (const name of Object.keys(ENV_IMPORTS)) {
    if (!(name in fns)) throw new Error(`host bug: env.${name} is not implemented`);
  }
  return fns;
}
