// eslint-disable-next-line @typescript-eslint/ban-ts-comment -- AssemblyScript, type-checked by asc
// @ts-nocheck
// The host calls the meshlane edge filter makes for one request, with no logic around them: read the
// clock, get the request headers' pairs, read source.address and jwt_authn's metadata, replace the
// lane header and the baggage header, count the request; on the response, read `:status` and the
// clock, count the response and record its duration. It exports the same callbacks as meshlane and hands the host
// memory from a bump area rewound per request. Its cost per request is the floor any filter doing
// that job pays in a given host; the benchmark prints meshlane against it. Built by
// scripts/build-fixtures.mjs into build/fixtures/host-calls.wasm.
import * as host from "@gcoredev/proxy-wasm-sdk-as/assembly/imports";

const AREA: usize = memory.data(65536, 16);
let top: usize = 0;
const OUT_PTR: usize = memory.data(8);
const OUT_SIZE: usize = memory.data(8);
const SOURCE_ADDRESS = "source\0address";
const JWT_METADATA = "metadata\0filter_metadata\0envoy.filters.http.jwt_authn";
const LANE_HEADER = "x-lane";
const LANE = "base";
const BAGGAGE = "baggage";
const MEMBER = "lane=base";
const STATUS = ":status";
let counter: u32 = 0;
let responses: u32 = 0;
let durations: u32 = 0;

export function malloc(size: usize): usize {
  const p = AREA + top;
  top += (size + 15) & ~(<usize>15);
  return top <= 65536 ? p : 0;
}
export function proxy_abi_version_0_2_1(): void {}
export function proxy_on_context_create(_id: u32, _root: u32): void {}
export function proxy_on_vm_start(_id: u32, _size: u32): u32 {
  return 1;
}
export function proxy_on_configure(_id: u32, _size: u32): u32 {
  const name = String.UTF8.encode("host_calls_total");
  host.proxy_define_metric(0, changetype<usize>(name), name.byteLength, OUT_SIZE);
  counter = load<u32>(OUT_SIZE);
  const r = String.UTF8.encode("host_calls_responses_total");
  host.proxy_define_metric(0, changetype<usize>(r), r.byteLength, OUT_SIZE);
  responses = load<u32>(OUT_SIZE);
  const d = String.UTF8.encode("host_calls_duration");
  host.proxy_define_metric(2, changetype<usize>(d), d.byteLength, OUT_SIZE);
  durations = load<u32>(OUT_SIZE);
  return 1;
}

function ascii(s: string): ArrayBuffer {
  return String.UTF8.encode(s);
}
const sourceAddress = ascii(SOURCE_ADDRESS);
const jwtMetadata = ascii(JWT_METADATA);
const laneHeader = ascii(LANE_HEADER);
const lane = ascii(LANE);
const baggage = ascii(BAGGAGE);
const member = ascii(MEMBER);
const status = ascii(STATUS);
let start: u64 = 0;

export function proxy_on_request_headers(_id: u32, _n: u32, _eos: u32): u32 {
  top = 0;
  host.proxy_get_current_time_nanoseconds(OUT_PTR);
  start = load<u64>(OUT_PTR);
  host.proxy_get_header_map_pairs(0, OUT_PTR, OUT_SIZE);
  host.proxy_get_property(changetype<usize>(sourceAddress), sourceAddress.byteLength, OUT_PTR, OUT_SIZE);
  host.proxy_get_property(changetype<usize>(jwtMetadata), jwtMetadata.byteLength, OUT_PTR, OUT_SIZE);
  host.proxy_replace_header_map_value(
    0,
    changetype<usize>(laneHeader),
    laneHeader.byteLength,
    changetype<usize>(lane),
    lane.byteLength,
  );
  host.proxy_replace_header_map_value(
    0,
    changetype<usize>(baggage),
    baggage.byteLength,
    changetype<usize>(member),
    member.byteLength,
  );
  host.proxy_increment_metric(counter, 1);
  return 0;
}
export function proxy_on_response_headers(_id: u32, _n: u32, _eos: u32): u32 {
  top = 0;
  host.proxy_get_header_map_value(2, changetype<usize>(status), status.byteLength, OUT_PTR, OUT_SIZE);
  host.proxy_get_current_time_nanoseconds(OUT_PTR);
  host.proxy_increment_metric(responses, 1);
  host.proxy_record_metric(durations, (load<u64>(OUT_PTR) - start) / 1_000_000);
  return 0;
}
export function proxy_on_delete(_id: u32): void {}

/** `--use abort=bench/wasm/host-calls/_abort`: trap without importing env.abort. */
function _abort(_message: string | null, _file: string | null, _line: u32, _column: u32): void {
  unreachable();
}
