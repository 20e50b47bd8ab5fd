// How a caller learns why the filter refused a plugin config: the filter logs exactly one error line
// "meshlane: rejected plugin configuration: <field path>: <reason>" from proxy_on_configure.
const PREFIX = "meshlane: rejected plugin configuration: ";

/** The filter's own reason from a VM's logs; other error lines, or a generic reason, when it gave none. */
export function rejectionReason(logs: readonly { level: number; msg: string }[]): string {
  const line = logs.find((l) => l.msg.startsWith(PREFIX));
  if (line) return line.msg.slice(PREFIX.length);
  const errors = logs.filter((l) => l.level >= 4).map((l) => l.msg);
  return errors.length > 0 ? errors.join("; ") : "the filter's configure returned false";
}
