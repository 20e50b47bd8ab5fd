// Kubernetes Events (core/v1) for what the controller did and what went wrong, on the object concerned:
// `kubectl describe lane canary` or `kubectl describe virtualservice vs-mocka` shows them. The same
// event (object, reason, message) is sent at most once per `dedupeMs`, so a problem that persists across
// reconciles is reported, not repeated on every resync. Sending is best effort: a failure is logged and
// never fails a reconcile.
import { randomBytes } from "node:crypto";
import type { KubeObject } from "../render/index.js";
import { RESOURCES, type KubeClient } from "./kube.js";
import { silentLogger, type Logger } from "./log.js";
import { nowTime } from "./status.js";

export type EventType = "Normal" | "Warning";

export interface EventRecorderOptions {
  client: KubeClient;
  /** This replica (reportingInstance). */
  instance: string;
  logger?: Logger;
  /** An identical event is not sent again within this time. Default 1 h. */
  dedupeMs?: number;
  /** Counts sent events by type (metrics). */
  onSent?: (type: EventType) => void;
}

const MAX_MESSAGE = 1024;
const MAX_REMEMBERED = 10_000;

export class EventRecorder {
  private readonly sent = new Map<string, number>();
  private readonly log: Logger;

  constructor(private readonly opts: EventRecorderOptions) {
    this.log = (opts.logger ?? silentLogger).child({ component: "events" });
  }

  /** Whether this event would be sent now (not a duplicate). */
  fresh(obj: KubeObject, reason: string, message: string, now = Date.now()): boolean {
    const last = this.sent.get(this.key(obj, reason, message));
    return last === undefined || now - last >= (this.opts.dedupeMs ?? 3_600_000);
  }

  /** Forgets what was sent about an object (it changed for the better), so a recurrence is reported. */
  forget(obj: KubeObject): void {
    const prefix = `${obj.metadata.uid ?? ""}|${obj.kind}|${obj.metadata.namespace ?? ""}|${obj.metadata.name}|`;
    for (const k of this.sent.keys()) if (k.startsWith(prefix)) this.sent.delete(k);
  }

  /**
   * Sends an event, unless the same one was sent within `dedupeMs`; `always` sends it anyway (an event
   * that marks a new occurrence, such as a rollout's step, which may repeat word for word after a retry).
   */
  async record(
    obj: KubeObject,
    type: EventType,
    reason: string,
    message: string,
    o: { always?: boolean } = {},
  ): Promise<void> {
    if (!o.always && !this.fresh(obj, reason, message)) return;
    const now = Date.now();
    if (this.sent.size >= MAX_REMEMBERED) this.sent.clear();
    this.sent.set(this.key(obj, reason, message), now);
    const namespace = obj.metadata.namespace || "default";
    const time = nowTime(new Date(now));
    const event = {
      apiVersion: "v1",
      kind: "Event",
      metadata: {
        name: `${obj.metadata.name}.${now.toString(16)}${randomBytes(3).toString("hex")}`,
        namespace,
      },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: obj.metadata.name,
        namespace: obj.metadata.namespace,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
      },
      reason,
      message: message.length > MAX_MESSAGE ? message.slice(0, MAX_MESSAGE - 1) + "…" : message,
      type,
      source: { component: "meshlane" },
      reportingComponent: "meshlane",
      reportingInstance: this.opts.instance,
      firstTimestamp: time,
      lastTimestamp: time,
      count: 1,
    };
    try {
      await this.opts.client.create(RESOURCES["|Event"], namespace, event);
      this.opts.onSent?.(type);
    } catch (err) {
      this.log.warn("could not record an event", {
        object: `${obj.kind} ${namespace}/${obj.metadata.name}`,
        reason,
        err,
      });
    }
  }

  private key(obj: KubeObject, reason: string, message: string): string {
    return `${obj.metadata.uid ?? ""}|${obj.kind}|${obj.metadata.namespace ?? ""}|${obj.metadata.name}|${reason}|${message}`;
  }
}
