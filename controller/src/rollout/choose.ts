// Which metrics provider the controller's rollouts ask (docs/contracts.md, "Lane rollouts"), from its
// settings: `--metrics-provider prometheus|embedded|none`. Without that flag, `--prometheus-url` (and
// `--prometheus-timeout`) choose Prometheus over its HTTP API, and no URL means no provider: every
// analysis round of a Lane with `spec.rollout.analysis` then gives no verdict (said in its
// `status.rollout.message`), so such a rollout never passes a check. `embedded` scrapes the proxies'
// stats endpoints itself, found through the API server (reconcile/podstats.ts).
import type { MetricsProvider } from "./provider.js";

export const PROVIDER_KINDS = ["prometheus", "embedded", "none"] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

export interface ProviderSettings {
  /** `--metrics-provider`; default: `prometheus` with a `prometheusUrl`, else `none`. */
  metricsProvider?: string;
  /** Prometheus' base URL (http or https), e.g. `http://prometheus.istio-system:9090`. */
  prometheusUrl?: string;
  /** Timeout of one analysis round's queries, in milliseconds. */
  prometheusTimeoutMs?: number;
}

/** The Prometheus provider's constructor, as `prometheus.ts` exports it. */
export type PrometheusFactory = (o: { url: string; timeoutMs?: number }) => MetricsProvider;

/** The provider the settings name; throws a message naming the flag when they are unusable. */
export function providerKind(s: ProviderSettings): ProviderKind {
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
  if (s.metricsProvider === undefined) return s.prometheusUrl === undefined ? "none" : "prometheus";
  const kind = PROVIDER_KINDS.find((k) => k === s.metricsProvider);
  if (kind === undefined)
    throw new Error(
      `--metrics-provider: expected ${PROVIDER_KINDS.join(", ")}, got ${JSON.stringify(s.metricsProvider)}`,
    );
  if (kind === "prometheus" && s.prometheusUrl === undefined)
    throw new Error("--metrics-provider prometheus needs --prometheus-url");
  if (kind !== "prometheus" && s.prometheusUrl !== undefined)
    throw new Error(`--prometheus-url: only with --metrics-provider prometheus (it is ${kind})`);
  return kind;
}

/** Throws a message naming the flag when the settings are unusable. */
export function checkProviderSettings(s: ProviderSettings): void {
  providerKind(s);
}

/**
 * The provider the settings choose, or undefined for none. `embedded` makes what the caller's factory
 * returns (the controller builds that provider itself, on its own API client and caches); without a
 * factory it is refused.
 */
export function chooseProvider<E = never>(
  s: ProviderSettings,
  prometheus: PrometheusFactory,
  embedded?: () => E,
): MetricsProvider | E | undefined {
  const kind = providerKind(s);
  if (kind === "prometheus") return prometheus({ url: s.prometheusUrl!, timeoutMs: s.prometheusTimeoutMs });
  if (kind === "embedded") {
    if (!embedded) throw new Error("--metrics-provider embedded: not available here");
    return embedded();
  }
  return undefined;
}
