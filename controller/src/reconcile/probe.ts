// The real filter as a judge of Lanes: each Lane's dye rules (render's `laneProbes()`) go through the
// filter's own proxy_on_configure in one VM of the module the controller serves, so render refuses
// exactly what Envoy would refuse. Verdicts are cached by config text: a Lane is probed again only when
// its rules change.
import { compileFilter, WasmVm, type CompiledFilter } from "../host/index.js";
import { rejectionReason } from "../explain/reason.js";

/** A VM is replaced after this many probes, so its logs and retired contexts stay bounded. */
const PROBES_PER_VM = 500;
const CACHE_LIMIT = 4096;

export class FilterProbe {
  private vm?: WasmVm;
  private used = 0;
  private readonly cache = new Map<string, string>();

  private constructor(private readonly compiled: CompiledFilter) {}

  static async load(bytes: Uint8Array): Promise<FilterProbe> {
    return new FilterProbe(await compileFilter(bytes));
  }

  /** The filter's reason for refusing `config`, or "" when it accepts it. */
  verdict(config: string): string {
    const cached = this.cache.get(config);
    if (cached !== undefined) return cached;
    const reason = this.configure(config);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(config, reason);
    return reason;
  }

  /** Rejections of a batch of probes, keyed as render's `laneVerdicts` (`namespace/name`). */
  verdicts(probes: { lane: string; config: string }[]): Record<string, string> {
    const out: Record<string, string> = {};
    for (const p of probes) {
      const reason = this.verdict(p.config);
      if (reason) out[p.lane] = reason;
    }
    return out;
  }

  private configure(config: string): string {
    if (!this.vm || this.vm.failed || this.used >= PROBES_PER_VM) {
      this.vm = WasmVm.instantiate(this.compiled, { logLevel: 2 });
      this.used = 0;
    }
    const vm = this.vm;
    this.used++;
    vm.logs.length = 0;
    try {
      const root = vm.createRoot(config);
      const ok = root.ok;
      if (root.state === "active" && !vm.failed) root.retire();
      if (ok) return "";
      return rejectionReason(vm.logs);
    } catch (err) {
      // A trap is a refusal too (Envoy would mark the VM failed); the next probe gets a fresh VM.
      this.vm = undefined;
      return `the filter trapped in configure: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
}
