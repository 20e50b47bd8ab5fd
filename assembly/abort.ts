// Our `abort`: AssemblyScript calls it on a failed assertion or an out-of-bounds access. Envoy has no
// `env.abort` import, so the default one would make the module unloadable. We log the reason at
// critical level through proxy_log (allowed at any time) and trap: the host marks the VM failed and
// Istio's fail-open policy lets traffic through. The request path is written never to get here.
import { proxy_log } from "@gcoredev/proxy-wasm-sdk-as/assembly/imports";
import { intText } from "./lib/text";

export function abortTrap(message: string | null, fileName: string | null, line: u32, _column: u32): void {
  let text = "meshlane: abort: " + (message !== null ? message : "(no message)");
  if (fileName !== null) text += " at " + fileName + ":" + intText(line);
  const buf = String.UTF8.encode(text);
  proxy_log(5, changetype<usize>(buf), buf.byteLength);
  unreachable();
}
