// Which metrics provider the controller's rollouts ask (docs/contracts.md, "Lane rollouts"), from its
// settings: `--prometheus-url` (and `--prometheus-timeout`) choose Prometheus over its HTTP API; without
// one there is no provider, and every analysis round of a Lane with `spec.rollout.analysis` gives no
// verdict (said in its `status.rollout.message`), so such a rollout never passes a check.
import type { MetricsProvider } from "./provider.js";

export interface ProviderSettings {
  /** Prometheus' base URL (http or https), e.g. `http://prometheus.istio-system:9090`. */
  prometheusUrl?: string;
  /** Timeout of one analysis round's queries, in milliseconds. */
  prometheusTimeoutMs?: number;
}

/** The Prometheus provider's constructor, as `prometheus.ts` exports it. */
export type PrometheusFactory = (o: { url: string; timeoutMs?: number }) => MetricsProvider;

/** Throws a message naming the flag when the settings are unusable. */
export function checkProviderSettings(s: ProviderSettings): void {
  if (s.prometheusUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(s.prometheusUrl);
    } catch {
      throw new Error(`--prometheus-url: not a URL: "${s.prometheusUrl}"`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw new Error(`--prometheus-url: expected an http:// or https:// URL, got "${s.prometheusUrl}"`);
  }
  if (s.prometheusTimeoutMs !== undefined && !(s.prometheusTimeoutMs > 0))
    throw new Error("--prometheus-timeout: must be longer than 0");
}

/** The provider the settings choose, or undefined for none. */
export function chooseProvider(
  s: ProviderSettings,
  prometheus: PrometheusFactory,
): MetricsProvider | undefined {
  checkProviderSettings(s);
  if (s.prometheusUrl === undefined) return undefined;
  return prometheus({ url: s.prometheusUrl, timeoutMs: s.prometheusTimeoutMs });
}
