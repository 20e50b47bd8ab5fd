// Driving the real release filter (build/meshlane.wasm) through our host, the way Envoy would.
import { readFileSync } from "node:fs";
import {
  compileFilter,
  WasmVm,
  type CompiledFilter,
  type HttpStream,
  type PropertyInput,
  type RootContext,
  type VmOptions,
} from "../../controller/src/host/index.js";
import { fromRoot } from "../../controller/src/paths.js";

let compiled: Promise<CompiledFilter> | undefined;

/** The release filter, compiled once per test process. */
export function filterModule(): Promise<CompiledFilter> {
  compiled ??= compileFilter(readFileSync(fromRoot("build", "meshlane.wasm")));
  return compiled;
}

export async function filterVm(options: VmOptions = {}): Promise<WasmVm> {
  return WasmVm.instantiate(await filterModule(), options);
}

/** A VM with one configured root; fails the test if the filter rejects the config. */
export async function configured(
  config: object,
  options: VmOptions = {},
): Promise<{ vm: WasmVm; root: RootContext }> {
  const vm = await filterVm(options);
  const root = vm.createRoot(JSON.stringify(config));
  if (!root.ok) throw new Error(`config rejected: ${vm.logs.map((l) => l.msg).join("; ")}`);
  return { vm, root };
}

export interface Exchange {
  stream: HttpStream;
  request: [string, string][];
  response: [string, string][];
  /** The lane header's value after on_request_headers (x-lane unless said otherwise). */
  lane: string | null;
  header(name: string): string | null;
}

/** One whole request: headers in, response headers, then on_log → on_done → on_delete. */
export function exchange(
  root: RootContext,
  headers: [string, string][],
  properties: PropertyInput[] = [],
  laneHeader = "x-lane",
): Exchange {
  const stream = root.newStream({ properties });
  stream.requestHeaders([[":method", "GET"], [":path", "/"], [":authority", "shop"], ...headers], true);
  const request = stream.requestHeaderPairs();
  stream.responseHeaders([[":status", "200"]], true);
  const response = stream.responseHeaderPairs();
  stream.finish();
  const find = (name: string) => request.find(([k]) => k === name)?.[1] ?? null;
  return { stream, request, response, lane: find(laneHeader), header: find };
}

export const from = (address: string): PropertyInput => ({ path: ["source", "address"], string: address });
export const inbound: PropertyInput = { path: ["xds", "listener_direction"], int: 1 };
export const outbound: PropertyInput = { path: ["xds", "listener_direction"], int: 2 };
export const jwtPayload = (payload: object): PropertyInput => ({
  path: ["metadata", "filter_metadata", "envoy.filters.http.jwt_authn"],
  json: { payload } as never,
});

/** A metric's value by its tag values, 0 when never defined. */
export function requests(vm: WasmVm, lane: string, role: string, direction: string, source: string): number {
  const name = `lane=.=${lane};.;role=.=${role};.;direction=.=${direction};.;source=.=${source};.;meshlane_requests_total`;
  const m = vm.metrics()[name];
  return m && "value" in m ? Number(m.value) : 0;
}

/** A base64url JWT (unsigned: the signature segment is junk, as the filter does not verify). */
export function unsignedJwt(payload: object): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${b64({ alg: "RS256", typ: "JWT" })}.${b64(payload)}.c2lnbmF0dXJl`;
}
