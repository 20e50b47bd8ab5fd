// Response metrics recorded by the demo's proxy for a filter that does not record them itself yet
// (docs/contracts.md, "Metrics": `meshlane_responses_total` and
// `meshlane_request_duration_milliseconds`, at the edge and at sidecar inbound, on the response).
// They go into the proxy VM's own MetricStore under the filter's names, so the stats endpoint, the
// providers and Prometheus see exactly what they will see from the filter. It steps aside for good on
// a VM whose filter defines `meshlane_responses_total` itself, so nothing is counted twice.
import type { WasmVm } from "../host/index.js";

const RESPONSES = "meshlane_responses_total";
const DURATION = "meshlane_request_duration_milliseconds";

/** `2xx`…`5xx`, anything else `other`. */
export function codeClass(status: number): string {
  return status >= 200 && status < 600 ? `${Math.floor(status / 100)}xx` : "other";
}

export class FallbackResponseMetrics {
  private readonly own = new Set<string>();
  private filterRecords = false;

  constructor(
    private readonly vm: WasmVm,
    private readonly role: "edge" | "sidecar",
    private readonly direction: "gateway" | "inbound",
  ) {}

  /** Counts one response of `lane` (`""`: none) with its status and duration in milliseconds. */
  record(lane: string, status: number, ms: number): void {
    if (this.filterRecords) return;
    const store = this.vm.metricStore;
    for (const name of Object.keys(store.snapshot())) {
      if (name.startsWith(RESPONSES) && !this.own.has(name)) {
        this.filterRecords = true;
        return;
      }
    }
    const tags = `lane=.=${lane === "" ? "none" : lane};.;role=.=${this.role};.;direction=.=${this.direction};.;`;
    const counter = `${RESPONSES}_${tags}response_code_class=.=${codeClass(status)};.;`;
    const histogram = `${DURATION}_${tags}`;
    this.own.add(counter);
    this.own.add(histogram);
    const c = store.define(0, counter);
    const h = store.define(2, histogram);
    if (c.id !== undefined) store.increment(c.id, 1n);
    if (h.id !== undefined) store.record(h.id, BigInt(Math.max(0, Math.round(ms))));
  }
}
