// Writes that failed, by namespace, as the last pass of each namespace left them: what Lane statuses,
// the pending-work count and the `meshlane_failed_writes` gauge report until a later pass succeeds.
//
// Which Lanes a failure concerns: those of the namespace the object is in and, for the install
// namespaces (gateway and root, where the filter's EnvoyFilters and WasmPlugins carry every Lane), every
// Lane.

export interface FailedWrite {
  /** `Kind namespace/name`. */
  what: string;
  kind: string;
  message: string;
}

export class WriteFailures {
  private readonly byNamespace = new Map<string, Map<string, FailedWrite>>();
  private readonly install: Set<string>;

  constructor(installNamespaces: string[]) {
    this.install = new Set(installNamespaces);
  }

  /** Replaces a namespace's failures with its last pass's; true when that changes what is reported. */
  record(namespace: string, failed: FailedWrite[]): boolean {
    const before = this.byNamespace.get(namespace);
    const after = new Map(failed.map((f) => [f.what, f]));
    const same =
      (before?.size ?? 0) === after.size &&
      [...after].every(([what, f]) => before?.get(what)?.message === f.message);
    if (after.size === 0) this.byNamespace.delete(namespace);
    else this.byNamespace.set(namespace, after);
    return !same;
  }

  /** Whether a change of this namespace failed in its last pass. */
  has(namespace: string, what: string): boolean {
    return this.byNamespace.get(namespace)?.has(what) ?? false;
  }

  isInstallNamespace(namespace: string): boolean {
    return this.install.has(namespace);
  }

  /** The failures that concern a Lane of `namespace` (see the module comment). */
  concerning(namespace: string): FailedWrite[] {
    const out: FailedWrite[] = [];
    for (const [ns, failed] of this.byNamespace)
      if (ns === namespace || this.install.has(ns)) out.push(...failed.values());
    return out;
  }

  /** Failed writes by namespace and kind (the gauge's samples). */
  counts(): { namespace: string; kind: string; value: number }[] {
    const out: { namespace: string; kind: string; value: number }[] = [];
    for (const [namespace, failed] of this.byNamespace) {
      const kinds = new Map<string, number>();
      for (const f of failed.values()) kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
      for (const [kind, value] of kinds) out.push({ namespace, kind, value });
    }
    return out;
  }
}
