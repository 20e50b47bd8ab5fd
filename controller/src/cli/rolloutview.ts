// The text of `meshlane rollout status`: a Lane's rollout as a person reads it — phase, step i/n,
// percent, the steps, the analysis settings and each check's value against its threshold. Pure: the
// caller passes the Lane's parts and the time ("3m ago" is relative to `now`).
import { parseDuration } from "../rollout/duration.js";
import type { Check, RolloutMetric, RolloutSpec, RolloutStatus } from "../rollout/engine.js";

export interface RolloutView {
  namespace: string;
  lane: string;
  /** `spec.rollout`, validated (defaults applied); undefined when it failed validation. */
  spec?: RolloutSpec;
  /** Why `spec.rollout` failed validation (field path and reason). */
  specError?: string;
  /** `status.rollout`; undefined before the controller wrote it. */
  status?: RolloutStatus;
  /** A command written and not yet taken by the controller. */
  pendingCommand?: string;
}

/** "3m10s" for a span of milliseconds (whole seconds; "0s" below one). */
export function span(ms: number): string {
  let s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h ? `${h}h` : ""}${m ? `${m}m` : ""}${s || (!h && !m) ? `${s}s` : ""}`;
}

function ago(at: string | undefined, now: Date): string {
  if (at === undefined) return "-";
  const t = Date.parse(at);
  if (Number.isNaN(t)) return at;
  return `${at} (${span(now.getTime() - t)} ago)`;
}

/** A number as people write it: at most two decimals, no trailing zeros. */
export function num(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return "-";
  return String(Math.round(v * 100) / 100);
}

/** "99 – 100", ">= 99", "<= 500", plus "and at most +5 over base". */
export function thresholdText(m: RolloutMetric | undefined): string {
  if (!m) return "-";
  const { min, max } = m.thresholdRange;
  let t =
    min !== undefined && max !== undefined
      ? `${num(min)}..${num(max)}`
      : min !== undefined
        ? `>= ${num(min)}`
        : `<= ${num(max)}`;
  if (m.maxIncreaseOverBase !== undefined) t += `, <= base+${num(m.maxIncreaseOverBase)}`;
  return t;
}

/** Left-aligned columns, two spaces apart; the last column is not padded. */
export function table(rows: string[][], indent = "  "): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map(
    (r) =>
      indent +
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
        .join("  ")
        .trimEnd(),
  );
}

function phaseText(spec: RolloutSpec | undefined, s: RolloutStatus | undefined): string {
  if (!s) return "Pending (the controller has not started it yet)";
  if (s.promotion?.state === "Copying")
    return `${s.phase} (promoting: copying the lane's pod templates into base)`;
  if (s.phase === "Paused")
    return s.pausedBy === "user"
      ? "Paused (by request: `meshlane rollout resume` goes on with this step)"
      : "Paused (this step has no pause: `meshlane rollout resume` goes on)";
  if (s.phase === "Succeeded" && spec?.promotion === "copy")
    return "Succeeded (promoted: base runs the lane's version)";
  if (s.phase === "Succeeded") return "Succeeded (promotion is manual: update base, then delete the Lane)";
  return s.phase;
}

/** When a timed step moves on: "in 6m49s", or what it waits for once its pause is over. */
function dueText(spec: RolloutSpec | undefined, s: RolloutStatus | undefined, now: Date): string | undefined {
  if (!spec || !s || s.phase !== "Progressing" || s.promotion?.state === "Copying") return undefined;
  const pause = spec.steps[s.step]?.pause;
  const started = Date.parse(s.stepStartedAt ?? "");
  const ms = pause === undefined ? undefined : parseDuration(pause);
  if (ms === undefined || Number.isNaN(started)) return undefined;
  const what = s.step >= spec.steps.length - 1 ? "promotion" : `step ${s.step + 2}`;
  const left = started + ms - now.getTime();
  if (left > 0) return `${what} in ${span(left)}${spec.analysis ? " if the analysis passes" : ""}`;
  if (!spec.analysis) return `${what} now`;
  return `${what} at the next passing round (pause over; rolls back ${spec.analysis.progressDeadline} after it without one)`;
}

function stickyText(spec: RolloutSpec): string {
  const k = spec.stickyBy;
  if (!k) return "none: each request draws anew (a user may see both versions)";
  const [kind, value] = Object.entries(k)[0] ?? ["?", ""];
  return kind === "sourceIp" ? "the client's address" : `${kind} ${JSON.stringify(value)}`;
}

function checkRows(spec: RolloutSpec | undefined, checks: Check[], now: Date): string[][] {
  const rows = [["METRIC", "SERVICE", "VERDICT", "VALUE", "THRESHOLD", "REQUESTS", "AT", "REASON"]];
  const metrics = spec?.analysis?.metrics ?? [];
  // The lane as a whole first, then per Service, each metric in spec order.
  const order = (c: Check) => metrics.findIndex((m) => m.name === c.metric);
  const sorted = [...checks].sort(
    (a, b) =>
      (a.service === undefined ? 0 : 1) - (b.service === undefined ? 0 : 1) ||
      (a.service ?? "").localeCompare(b.service ?? "") ||
      order(a) - order(b),
  );
  for (const c of sorted) {
    const t = Date.parse(c.at);
    rows.push([
      c.metric,
      c.service ?? "lane",
      c.verdict,
      num(c.value),
      thresholdText(metrics.find((m) => m.name === c.metric)),
      c.requests === undefined ? "-" : String(c.requests),
      Number.isNaN(t) ? "-" : `${span(now.getTime() - t)} ago`,
      c.reason ?? "",
    ]);
  }
  return rows;
}

/** The whole status view, ending with a newline. */
export function renderRolloutView(v: RolloutView, now: Date): string {
  const { spec, status: s } = v;
  const n = spec?.steps.length;
  const step = s?.step ?? 0;
  const head: string[][] = [
    ["Lane:", `${v.namespace}/${v.lane}`],
    ["Phase:", phaseText(spec, s)],
    ["Step:", n ? `${Math.min(step, n - 1) + 1}/${n}` : `${step + 1}`],
    ["Percent:", `${num(s?.percent ?? 0)}% of users (testers named by dye always in)`],
  ];
  if (s?.stepStartedAt) head.push(["Step started:", ago(s.stepStartedAt, now)]);
  const due = dueText(spec, s, now);
  if (due) head.push(["Next:", due]);
  head.push(["Message:", s?.message ?? "not started"]);
  if (v.pendingCommand)
    head.push(["Command:", `${v.pendingCommand} (asked; the controller has not taken it yet)`]);
  if (spec) {
    head.push(["Sticky by:", stickyText(spec)]);
    head.push(["Promotion:", spec.promotion]);
  }
  const out = table(head, "");
  if (v.specError) out.push("", `spec.rollout is invalid: ${v.specError}`);
  if (spec) {
    const rows = [["", "STEP", "PERCENT", "PAUSE", ""]];
    spec.steps.forEach((st, i) => {
      const current = s !== undefined && i === step;
      const state = !s ? "" : current ? "current" : i < step || s.phase === "Succeeded" ? "done" : "";
      rows.push([
        current ? ">" : "",
        String(i + 1),
        `${num(st.percent)}%`,
        st.pause ?? "until resume",
        state,
      ]);
    });
    out.push("", "Steps:", ...table(rows));
    const a = spec.analysis;
    if (a) {
      out.push(
        "",
        `Analysis: every ${a.interval}; rolls back after ${a.failureLimit} failed rounds in a row; ` +
          `no verdict under ${a.minRequests} requests; progress deadline ${a.progressDeadline}`,
        `  last round: ${s?.lastRound ?? "-"}; failed rounds in a row: ${s?.failures ?? 0}/${a.failureLimit}`,
      );
    } else {
      out.push("", "Analysis: none (steps advance on time alone)");
    }
  }
  const checks = s?.checks ?? [];
  if (checks.length > 0) out.push("", "Checks:", ...table(checkRows(spec, checks, now)));
  else if (spec?.analysis) out.push("", "Checks: none yet");
  return out.join("\n") + "\n";
}
