// meshlane's own objects against the cluster: the objects a render wants (routing objects from the
// writer, the filter's objects) matched with those that exist, and the ones no longer wanted.
// - A wanted object keeps what the server added (uid, resourceVersion, status, other labels); one
//   that is unchanged is returned as the input object itself, so "changed" is a deep compare.
// - A name held by an object not labelled managed-by meshlane is never taken: an error, no write.
// - Every input object labelled managed-by meshlane (of the kinds render writes) that is not wanted is
//   to be deleted.
import type { Inventory } from "./inventory.js";
import { deepEqual, describe, keyOf, refOf } from "./objects.js";
import { MANAGED_BY, MANAGED_BY_LABEL, type KubeObject, type ObjectRef, type Problem } from "./types.js";

export function settleManaged(
  desired: KubeObject[],
  inv: Inventory,
): { apply: KubeObject[]; delete: ObjectRef[]; errors: Problem[] } {
  const apply: KubeObject[] = [];
  const errors: Problem[] = [];
  const wanted = new Set<string>();
  for (const d of desired) {
    const key = keyOf(d);
    const existing = inv.byKey.get(key);
    if (existing && existing.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY) {
      errors.push({
        object: describe(existing),
        message: "exists and is not managed by meshlane; meshlane needs the name",
      });
      continue;
    }
    wanted.add(key);
    if (!existing) {
      apply.push(d);
      continue;
    }
    const merged: KubeObject = {
      ...existing,
      metadata: { ...existing.metadata, labels: { ...existing.metadata.labels, ...d.metadata.labels } },
      spec: d.spec,
    };
    apply.push(deepEqual(merged, existing) ? existing : merged);
  }
  const del = inv.managed.filter((m) => !wanted.has(keyOf(m))).map(refOf);
  return { apply, delete: del, errors };
}
