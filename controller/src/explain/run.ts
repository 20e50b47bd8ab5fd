// The engine behind `explain` and `validate`: the real filter in one host VM, driven request by
// request. Also used by tests and the demo, so the CLI prints exactly what the filter does.
import { readFile } from "node:fs/promises";
import { WasmVm, type CompiledFilter, type PropertyInput, type VmOptions } from "../host/index.js";
import { rejectionReason as rejection } from "./reason.js";

export type HeaderPairs = [string, string][];

export interface ScenarioRequest {
  name: string;
  requestHeaders: HeaderPairs;
  responseHeaders: HeaderPairs;
  properties: PropertyInput[];
  advanceSeconds: number;
}

export interface Scenario {
  properties: PropertyInput[];
  requests: ScenarioRequest[];
}

export interface ExplainLine {
  name: string;
  lane: string | null;
  status: number | null;
  requestHeaders: HeaderPairs;
  responseHeaders: HeaderPairs;
  localReply: null | { status: number; body: string; details: string; headers: HeaderPairs };
  logs: { level: string; msg: string }[];
}

export interface ExplainResult {
  rejected?: string;
  trap?: string;
  lines: (ExplainLine | { summary: { metrics: Record<string, number> } })[];
}

const LEVELS = ["trace", "debug", "info", "warn", "error", "critical"];
const VALUE_KINDS = ["string", "int", "uint", "double", "bool", "json", "bytes"];

function isPairs(v: unknown): v is HeaderPairs {
  return (
    Array.isArray(v) &&
    v.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === "string" && typeof p[1] === "string")
  );
}

function checkProperties(v: unknown, where: string): PropertyInput[] | string {
  if (v === undefined) return [];
  if (!Array.isArray(v)) return `${where}: expected an array`;
  for (const [i, p] of v.entries()) {
    const at = `${where}[${i}]`;
    if (typeof p !== "object" || p === null) return `${at}: expected an object`;
    const path = (p as { path?: unknown }).path;
    if (!Array.isArray(path) || path.length === 0 || !path.every((s) => typeof s === "string")) {
      return `${at}.path: expected a non-empty array of strings`;
    }
    const kinds = Object.keys(p).filter((k) => k !== "path");
    if (kinds.length !== 1 || !VALUE_KINDS.includes(kinds[0])) {
      return `${at}: expected "path" and exactly one of ${VALUE_KINDS.join("|")}`;
    }
  }
  return v as PropertyInput[];
}

/** Checks a scenario's shape; returns the reason when malformed. */
export function parseScenario(v: unknown): Scenario | string {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "expected a JSON object";
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== "requests" && k !== "properties") return `unknown field "${k}"`;
  const shared = checkProperties(o.properties, "properties");
  if (typeof shared === "string") return shared;
  if (!Array.isArray(o.requests)) return "requests: expected an array";
  const requests: ScenarioRequest[] = [];
  for (const [i, r] of o.requests.entries()) {
    const at = `requests[${i}]`;
    if (typeof r !== "object" || r === null) return `${at}: expected an object`;
    const req = r as Record<string, unknown>;
    const known = ["name", "requestHeaders", "responseHeaders", "properties", "advanceSeconds"];
    for (const k of Object.keys(req)) if (!known.includes(k)) return `${at}: unknown field "${k}"`;
    if (req.name !== undefined && typeof req.name !== "string") return `${at}.name: expected a string`;
    if (!isPairs(req.requestHeaders)) return `${at}.requestHeaders: expected [[name, value], ...]`;
    if (req.responseHeaders !== undefined && !isPairs(req.responseHeaders)) {
      return `${at}.responseHeaders: expected [[name, value], ...]`;
    }
    const props = checkProperties(req.properties, `${at}.properties`);
    if (typeof props === "string") return props;
    const adv = req.advanceSeconds ?? 0;
    if (typeof adv !== "number" || !(adv >= 0)) return `${at}.advanceSeconds: expected a number ≥ 0`;
    requests.push({
      name: (req.name as string | undefined) ?? `request-${i}`,
      requestHeaders: req.requestHeaders,
      responseHeaders: (req.responseHeaders as HeaderPairs | undefined) ?? [[":status", "200"]],
      properties: props,
      advanceSeconds: adv,
    });
  }
  return { properties: shared, requests };
}

/** The lane header a config names (default x-lane), read leniently: the filter itself validates. */
export function laneHeaderOf(configText: string): string {
  try {
    const c = JSON.parse(configText) as { laneHeader?: unknown };
    if (typeof c.laneHeader === "string" && c.laneHeader.length > 0) return c.laneHeader.toLowerCase();
  } catch {
    // The filter reports the real problem.
  }
  return "x-lane";
}

/** The filter to run: a file path, or a module already compiled (the CLI compiles it once, up front). */
export type FilterSource = string | CompiledFilter;

async function loadVm(filter: FilterSource, options: VmOptions) {
  if (typeof filter !== "string") return WasmVm.instantiate(filter, options);
  return WasmVm.load(await readFile(filter), options);
}

/** Runs only configure on a config: the same call Envoy makes on a config update. */
export async function configureOnly(
  configText: string,
  filter: FilterSource,
): Promise<{ ok: boolean; reason: string }> {
  const vm = await loadVm(filter, { logLevel: 2 });
  const root = vm.createRoot(configText);
  if (root.ok) return { ok: true, reason: "" };
  return { ok: false, reason: rejection(vm.logs) };
}

export async function explain(
  configText: string,
  scenario: Scenario,
  opts: { wasmPath: FilterSource; logLevel: number },
): Promise<ExplainResult> {
  let nowNs = BigInt(Date.now()) * 1_000_000n;
  const vm = await loadVm(opts.wasmPath, {
    logLevel: opts.logLevel,
    clock: () => nowNs,
  });
  const root = vm.createRoot(configText);
  if (!root.ok) return { rejected: rejection(vm.logs), lines: [] };
  const laneHeader = laneHeaderOf(configText);
  const lines: ExplainResult["lines"] = [];
  let trap: string | undefined;
  for (const req of scenario.requests) {
    nowNs += BigInt(Math.round(req.advanceSeconds * 1e9));
    const stream = root.newStream({ properties: [...scenario.properties, ...req.properties] });
    try {
      stream.requestHeaders(req.requestHeaders, true);
      const requestHeaders = stream.requestHeaderPairs();
      let responseHeaders: HeaderPairs = [];
      if (!stream.localReply) {
        stream.responseHeaders(req.responseHeaders, true);
        responseHeaders = stream.responseHeaderPairs();
      }
      stream.finish();
      const lane = requestHeaders.find(([k]) => k === laneHeader)?.[1] ?? null;
      const reply = stream.localReply ?? null;
      const statusText = reply ? String(reply.status) : responseHeaders.find(([k]) => k === ":status")?.[1];
      lines.push({
        name: req.name,
        lane,
        status: statusText !== undefined && /^\d+$/.test(statusText) ? Number(statusText) : null,
        requestHeaders,
        responseHeaders,
        localReply: reply,
        logs: stream.logs.map((l) => ({ level: LEVELS[l.level] ?? String(l.level), msg: l.msg })),
      });
    } catch (err) {
      trap = err instanceof Error ? err.message : String(err);
      lines.push({
        name: req.name,
        lane: null,
        status: null,
        requestHeaders: req.requestHeaders,
        responseHeaders: [],
        localReply: null,
        logs: [{ level: "critical", msg: `trap: ${trap}` }],
      });
      break;
    }
  }
  const metrics: Record<string, number> = {};
  for (const [name, m] of Object.entries(vm.metrics()))
    metrics[name] = "value" in m ? Number(m.value) : m.count;
  lines.push({ summary: { metrics } });
  return trap === undefined ? { lines } : { lines, trap };
}
