// Our `abort`, for the debug build (asconfig.json, target "debug"): AssemblyScript calls it on a
// failed assertion or an out-of-bounds access. Envoy has no `env.abort` import, so the default one
// would make the module unloadable. It logs the reason at critical level through proxy_log (allowed
// at any time) and traps: the host marks the VM failed and Istio's fail-open policy lets traffic
// through. The release build sets no abort function (`abort=`): a failed check traps at once, which
// leaves out every message and file name string and their arguments at each call site (about
// 1.3 KB); Envoy still logs the trap and where it happened. To see the reason, run the debug build.
// The request path is written never to get here.
import { proxy_log } from "@gcoredev/proxy-wasm-sdk-as/assembly/imports";
import { intText } from "./lib/text";

export function abortTrap(message: string | null, fileName: string | null, line: u32, _column: u32): void {
  let text = "meshlane: abort: " + (message !== null ? message : "(no message)");
  if (fileName !== null) text += " at " + fileName + ":" + intText(line);
  const buf = String.UTF8.encode(text);
  proxy_log(5, changetype<usize>(buf), buf.byteLength);
  unreachable();
}
