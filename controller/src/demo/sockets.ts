// The demo meshes' sockets: servers listening on loopback ports, keep-alive agents for their
// upstream calls, and a pool that closes every one of them together when a mesh stops.
import http from "node:http";
import type { AddressInfo } from "node:net";

/** Listens on 127.0.0.1 on an ephemeral port; resolves with the port. */
export function listen(server: http.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Closes a server and the connections it still holds (a server never started is closed already). */
export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** The servers and agents of one mesh. */
export interface SocketPool {
  /** A keep-alive agent of at most `limit` sockets per host (the pool's default when not given). */
  agent(limit?: number): http.Agent;
  server(handler: http.RequestListener): http.Server;
  /** Closes every server and destroys every agent made so far. */
  close(): Promise<void>;
}

export function socketPool(maxSockets = Infinity): SocketPool {
  const servers: http.Server[] = [];
  const agents: http.Agent[] = [];
  return {
    agent(limit = maxSockets) {
      const a = new http.Agent({ keepAlive: true, maxSockets: limit });
      agents.push(a);
      return a;
    },
    server(handler) {
      const s = http.createServer({ keepAliveTimeout: 30_000 }, handler);
      servers.push(s);
      return s;
    },
    async close() {
      await Promise.all(servers.map(closeServer));
      for (const a of agents) a.destroy();
    },
  };
}
