// Metrics as Envoy's wasm Context defines them (defineMetric/incrementMetric/recordMetric/getMetric).
// Envoy registers each metric as a stat named `wasmcustom.<name>` (Prometheus then strips the
// `wasmcustom.` prefix; Istio tag extraction turns `tag=.=value;.;` into labels). Snapshots here
// keep the raw name the module defined, without the prefix. Stats are process-wide in Envoy, so one
// MetricStore may be shared by several VMs (workers) to see aggregated values.

import { MetricType, WasmResult } from "./abi.js";

export type MetricKind = "counter" | "gauge" | "histogram";
const KIND_NAMES: readonly MetricKind[] = ["counter", "gauge", "histogram"];

interface Metric {
  id: number;
  name: string;
  type: number;
  value: bigint;
  samples: bigint[];
}

/** What vm.metrics() reports per metric name. */
export type MetricSnapshot =
  | { type: "counter" | "gauge"; value: number }
  | { type: "histogram"; count: number; sum: number; values: number[] };

export class MetricStore {
  private readonly byName = new Map<string, Metric>();
  private readonly byId = new Map<number, Metric>();
  private nextIndex = 1;

  /**
   * proxy_define_metric: type 0 counter, 1 gauge, 2 histogram (else BadArgument). Defining a name
   * again returns the same id, so every definition shares one value, as Envoy's stat scope does.
   * Redefining a name with another type is refused with BadArgument.
   */
  define(type: number, name: string): { code: WasmResult; id?: number } {
    if (type < 0 || type > MetricType.Histogram) return { code: WasmResult.BadArgument };
    const existing = this.byName.get(name);
    if (existing !== undefined) {
      if (existing.type !== type) return { code: WasmResult.BadArgument };
      return { code: WasmResult.Ok, id: existing.id };
    }
    // Like Envoy, the low bits of the id carry the metric type.
    const id = (this.nextIndex++ << 2) | type;
    const m: Metric = { id, name, type, value: 0n, samples: [] };
    this.byName.set(name, m);
    this.byId.set(id, m);
    return { code: WasmResult.Ok, id };
  }

  /**
   * proxy_increment_metric: a counter needs delta > 0 (else BadArgument); a gauge adds the signed
   * delta; a histogram cannot be incremented (BadArgument); an unknown id is NotFound.
   */
  increment(id: number, delta: bigint): WasmResult {
    const m = this.byId.get(id);
    if (m === undefined) return WasmResult.NotFound;
    if (m.type === MetricType.Counter) {
      if (delta <= 0n) return WasmResult.BadArgument;
      m.value = BigInt.asUintN(64, m.value + delta);
      return WasmResult.Ok;
    }
    if (m.type === MetricType.Gauge) {
      m.value = BigInt.asUintN(64, m.value + delta);
      return WasmResult.Ok;
    }
    return WasmResult.BadArgument;
  }

  /** proxy_record_metric: counter adds, gauge sets, histogram records a sample. */
  record(id: number, value: bigint): WasmResult {
    const m = this.byId.get(id);
    if (m === undefined) return WasmResult.NotFound;
    const v = BigInt.asUintN(64, value);
    if (m.type === MetricType.Counter) m.value = BigInt.asUintN(64, m.value + v);
    else if (m.type === MetricType.Gauge) m.value = v;
    else m.samples.push(v);
    return WasmResult.Ok;
  }

  /** proxy_get_metric: counter or gauge value; a histogram has no single value (BadArgument). */
  get(id: number): { code: WasmResult; value?: bigint } {
    const m = this.byId.get(id);
    if (m === undefined) return { code: WasmResult.NotFound };
    if (m.type === MetricType.Histogram) return { code: WasmResult.BadArgument };
    return { code: WasmResult.Ok, value: m.value };
  }

  /** Raw name → current value; numbers beyond 2^53 lose precision. */
  snapshot(): Record<string, MetricSnapshot> {
    const out: Record<string, MetricSnapshot> = {};
    for (const m of this.byName.values()) {
      const type = KIND_NAMES[m.type];
      if (type === "histogram") {
        const values = m.samples.map(Number);
        out[m.name] = { type, count: values.length, sum: values.reduce((a, b) => a + b, 0), values };
      } else {
        out[m.name] = { type, value: Number(m.value) };
      }
    }
    return out;
  }
}
