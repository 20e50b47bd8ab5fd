// The planner: what the cluster should look like now, as changes per namespace.
//
// Contract of `Planner.plan()`:
// - Renders the current state (Lanes being deleted left out; an invalid Lane at its last valid spec,
//   see lastvalid.ts; every Lane's dye rules checked by the filter's configure) and turns render's result
//   into a Plan (plan.ts). The result is memoised by the state's version: after one change, however many
//   namespaces ask, render runs once. `current` is the last plan (undefined before the first).
// - It only answers: it writes nothing, queues nothing and leaves the state as it is. The caller sweeps
//   the state's overlay first if it wants (`ClusterState.sweep` bumps the version) and decides which
//   namespaces a new plan concerns (compare with `current` before asking).
// - What it keeps between calls: the memo, the last valid spec of each Lane (in memory, besides the
//   copy in the Lane's status), the notes on Lanes routed at an older spec, and which render warnings
//   were already logged (each is logged once, at info). Each render is timed into `renders`.
import { render, type KubeObject, type RenderOptions } from "../render/index.js";
import { isDeleting } from "./finalizers.js";
import { LastValidSpecs, type LastValid, type ServingNotes } from "./lastvalid.js";
import type { Logger } from "./log.js";
import { computePlan, type Plan } from "./plan.js";
import type { FilterProbe } from "./probe.js";
import type { ClusterState } from "./state.js";

export interface PlannerOptions {
  state: Pick<ClusterState, "version" | "snapshot" | "enabledNamespaces">;
  /** Render options, the served module's sha256 included. */
  renderOptions: RenderOptions;
  /** Observes each render's duration, in seconds. */
  renders: { observe(seconds: number): void };
  log: Logger;
}

const MAX_WARNINGS_REMEMBERED = 10_000;

export class Planner {
  /** The filter, to check each Lane's dye rules; set once it is loaded (none: rules are not checked). */
  probe?: FilterProbe;
  private memo?: Plan;
  private servingNotes: ServingNotes = new Map();
  /** The spec routed for each Lane: its own, or while it is invalid the last valid one (kept in status). */
  private readonly lastValid = new LastValidSpecs();
  /** Render warnings already logged. */
  private readonly warned = new Set<string>();

  constructor(private readonly opts: PlannerOptions) {}

  /** The last plan computed, if any. */
  get current(): Plan | undefined {
    return this.memo;
  }

  /** The plan for the current state, rendered at most once per state version. */
  plan(): Plan {
    const { state, log } = this.opts;
    if (this.memo && this.memo.version === state.version) return this.memo;
    const version = state.version;
    const started = performance.now();
    const { input, verdicts, serving } = this.renderInput();
    const result = render(input, {
      ...this.opts.renderOptions,
      laneVerdicts: verdicts,
      sidecarNamespaces: state.enabledNamespaces(),
    });
    const plan = computePlan(result, input, version);
    this.opts.renders.observe((performance.now() - started) / 1000);
    this.memo = plan;
    for (const w of result.warnings) {
      const key = `${w.object}|${w.message}`;
      if (this.warned.has(key)) continue;
      if (this.warned.size >= MAX_WARNINGS_REMEMBERED) this.warned.clear();
      this.warned.add(key);
      log.info(w.message, { object: w.object, render: "warning" });
    }
    this.servingNotes = serving;
    if (log.enabled("debug")) {
      log.debug("rendered", {
        version,
        changes: plan.size,
        errors: result.errors.length,
        ms: Math.round(performance.now() - started),
      });
    }
    return plan;
  }

  /** From the last render: for a Lane (`namespace/name`) routed at an older spec, its error and that generation. */
  servingNote(id: string): { generation?: number; error: string } | undefined {
    return this.servingNotes.get(id);
  }

  /** From the last render: the spec routed for a Lane (`namespace/name`), what its status stores. */
  routedFor(id: string): LastValid | undefined {
    return this.lastValid.routedFor(id);
  }

  /** Render's input from the state: Lanes being deleted left out, an invalid Lane kept at its last valid spec. */
  private renderInput(): { input: KubeObject[]; verdicts: Record<string, string>; serving: ServingNotes } {
    const snapshot = this.opts.state.snapshot().filter((o) => !(o.kind === "Lane" && isDeleting(o)));
    const lanes = snapshot.filter((o) => o.kind === "Lane");
    const { substitutes, verdicts, serving } = this.lastValid.resolve(
      lanes,
      this.probe,
      this.opts.renderOptions,
    );
    return { input: snapshot.map((o) => substitutes.get(o) ?? o), verdicts, serving };
  }
}
