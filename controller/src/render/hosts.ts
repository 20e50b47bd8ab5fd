// Host names as Istio resolves them in VirtualServices and DestinationRules.

/** The fully qualified name of a Service. */
export function serviceFqdn(name: string, namespace: string, domain: string): string {
  return `${name}.${namespace}.svc.${domain}`;
}

/**
 * Istio's short-name rule (pilot `ResolveShortnameToFQDN`): a host without a dot is a Service of the
 * config's own namespace; anything with a dot, or a wildcard, is taken as written.
 */
export function resolveHost(host: string, namespace: string, domain: string): string {
  if (host.startsWith("*") || host.includes(".")) return host;
  return serviceFqdn(host, namespace, domain);
}

/** Whether a (resolved) host pattern covers a fully qualified name: exact, `*`, or `*.suffix`. */
export function hostCovers(pattern: string, fqdn: string): boolean {
  if (pattern === "*") return true;
  if (pattern.startsWith("*.")) return fqdn.endsWith(pattern.slice(1));
  return pattern === fqdn;
}
