// Serving the filter: istio-agent fetches the module over HTTP from the controller (the `wasmUrl` of the
// config) and checks it against the sha256 render writes into the EnvoyFilters/WasmPlugins. Both come
// from the same bytes, read once at start-up from the file in the container image.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type http from "node:http";
import type { OpsServer } from "./server.js";

export const WASM_PATH = "/meshlane.wasm";

export interface WasmModule {
  bytes: Uint8Array;
  /** Lower-case hex sha256 of `bytes`. */
  sha256: string;
  /** Where it was read from (for logs). */
  source: string;
}

export async function loadWasm(file: string): Promise<WasmModule> {
  const bytes = new Uint8Array(await readFile(file));
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new Error(`${file}: not a WebAssembly module`);
  }
  return { bytes, sha256: createHash("sha256").update(bytes).digest("hex"), source: file };
}

/**
 * Adds `GET /meshlane.wasm`: the module as `application/wasm` with `ETag: "<sha256>"`,
 * `X-Checksum-Sha256: <hex>` and `Digest: sha-256=<base64>`; `If-None-Match` with the ETag gets 304.
 */
export function serveWasm(ops: OpsServer, wasm: WasmModule): void {
  const etag = `"${wasm.sha256}"`;
  const digest = `sha-256=${Buffer.from(wasm.sha256, "hex").toString("base64")}`;
  ops.route("GET", WASM_PATH, (req: http.IncomingMessage, res: http.ServerResponse) => {
    const common = {
      etag,
      "x-checksum-sha256": wasm.sha256,
      digest,
      "cache-control": "public, max-age=300",
    };
    const match = req.headers["if-none-match"];
    if (match && match.split(",").some((t) => t.trim() === etag || t.trim() === "*")) {
      res.writeHead(304, common);
      res.end();
      return;
    }
    res.writeHead(200, {
      ...common,
      "content-type": "application/wasm",
      "content-length": wasm.bytes.length,
    });
    res.end(Buffer.from(wasm.bytes.buffer, wasm.bytes.byteOffset, wasm.bytes.length));
  });
}
