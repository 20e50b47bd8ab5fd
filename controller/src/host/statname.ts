// Raw metric names in Istio's tag form, as a filter defines them with the proxy (vm.metrics() keys;
// docs/contracts.md, "Metrics"). Pure.
//
// meshlane's filter writes the tags first, `lane=.=canary;.;role=.=edge;.;meshlane_requests_total`,
// which Istio's tag extraction turns into exactly `meshlane_requests_total{lane=…,role=…}`. Filters
// built before that fix wrote the name first, `meshlane_requests_total_lane=.=canary;.;…`; readers here
// accept both orders so the demo and tools still read an older .wasm.

const CUSTOM_PREFIX = "wasmcustom.";
const TAG = /([A-Za-z_][A-Za-z0-9_]*)=\.=(.*?);\.;/y;

/** `tag=.=value;.;…` exactly (one tag or more), as [tag, value] pairs in order; null if `text` is
 * anything else. */
function parseTagList(text: string): [string, string][] | null {
  if (text.length === 0) return null;
  const tags: [string, string][] = [];
  TAG.lastIndex = 0;
  while (TAG.lastIndex < text.length) {
    const m = TAG.exec(text);
    if (m === null) return null;
    tags.push([m[1], m[2]]);
  }
  return tags;
}

/**
 * The tags of `raw` (with or without Envoy's `wasmcustom.` in front) if it names a series of the
 * metric `name`, tags first (`tag=.=v;.;…;.;name`) or name first (`name_tag=.=v;.;…`); a name without
 * tags gives `{}`. Null for another metric or a malformed tag list.
 */
export function statTags(raw: string, name: string): Record<string, string> | null {
  const stat = raw.startsWith(CUSTOM_PREFIX) ? raw.slice(CUSTOM_PREFIX.length) : raw;
  let list: [string, string][] | null = null;
  if (stat === name) list = [];
  else if (stat.endsWith(`;.;${name}`)) list = parseTagList(stat.slice(0, stat.length - name.length));
  else if (stat.startsWith(`${name}_`)) list = parseTagList(stat.slice(name.length + 1));
  return list === null ? null : Object.fromEntries(list);
}
