// What the filter adds to a hop of the demo mesh: the same mesh twice, side by side in one process —
// every proxy running the real filter, and every proxy forwarding without any wasm — and sequential
// requests through the whole chain (edge, then each service's inbound and outbound sidecar), in
// interleaved batches so both meshes see the same machine load. A request's latency divided by the
// proxies it crossed is the latency per hop; the ratio compares the two meshes per hop.
import { pathToFileURL } from "node:url";
import { startMesh, type Mesh } from "../controller/src/demo/mesh.js";

export interface DemoHopResult {
  /** Mean latency per proxy hop with the filter, in milliseconds. */
  withFilterMs: number;
  /** The same through the mesh whose proxies run no wasm. */
  withoutFilterMs: number;
  /** withFilterMs / withoutFilterMs. */
  ratio: number;
  /** Timed requests per mesh. */
  requests: number;
  /** Proxies one request crosses (edge + inbound and outbound sidecars). */
  hops: number;
  /** withFilterMs - withoutFilterMs. */
  addedMsPerHop: number;
}

export interface DemoHopOptions {
  /** Timed requests per mesh. Default 2000. */
  requests?: number;
  /** Requests per batch; meshes alternate every batch. Default 100. */
  batch?: number;
  /** Untimed requests per mesh first (JIT, connection pools). Default 300. */
  warmup?: number;
}

/** Sends `n` sequential requests, alternating a dyed and an undyed one; returns the elapsed ms. */
async function batch(mesh: Mesh, n: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const r = await mesh.request({ agent: i % 2 === 0 ? "pc" : "mobile" });
    if (r.status !== 200) throw new Error(`demo mesh answered ${r.status}: ${r.body}`);
  }
  return performance.now() - start;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Per-hop latency with and without the filter. Each mesh's figure is the median of its batch means
 * (robust against a load spike hitting one batch), divided by the hop count.
 */
export async function benchDemoHop(options: DemoHopOptions = {}): Promise<DemoHopResult> {
  const perBatch = Math.max(1, options.batch ?? 100);
  const batches = Math.max(1, Math.ceil((options.requests ?? 2000) / perBatch));
  const warmup = options.warmup ?? 300;
  const withFilter = await startMesh();
  let without: Mesh | null = null;
  try {
    without = await startMesh({ withFilter: false });
    if (withFilter.hops !== without.hops) throw new Error("the two meshes differ in shape");
    await batch(withFilter, warmup);
    await batch(without, warmup);
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < batches; i++) {
      // Alternate which mesh goes first, so neither always follows the other's garbage.
      if (i % 2 === 0) {
        a.push((await batch(withFilter, perBatch)) / perBatch);
        b.push((await batch(without, perBatch)) / perBatch);
      } else {
        b.push((await batch(without, perBatch)) / perBatch);
        a.push((await batch(withFilter, perBatch)) / perBatch);
      }
    }
    const hops = withFilter.hops;
    const withFilterMs = median(a) / hops;
    const withoutFilterMs = median(b) / hops;
    return {
      withFilterMs,
      withoutFilterMs,
      ratio: withFilterMs / withoutFilterMs,
      requests: batches * perBatch,
      hops,
      addedMsPerHop: withFilterMs - withoutFilterMs,
    };
  } finally {
    await withFilter.close();
    await without?.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await benchDemoHop();
  const f = (ms: number) => `${(ms * 1000).toFixed(0)} µs`;
  process.stdout.write(
    `demo mesh, ${r.requests} requests per mesh, ${r.hops} proxies per request:\n` +
      `  per hop with the filter ${f(r.withFilterMs)}, without ${f(r.withoutFilterMs)}, ` +
      `added ${f(r.addedMsPerHop)} (ratio ${r.ratio.toFixed(2)})\n`,
  );
}
