import { createServer, type Server } from 'node:net';

/**
 * Asks the OS for `count` distinct free ports on `host` by binding port 0 that many times at
 * once, then releases them. Another process could take one before we bind it again; for a local
 * demo that is rare enough, and the node then fails to start with a clear EADDRINUSE.
 */
export async function freePorts(count: number, host: string): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, host, () => resolve());
      });
      const address = server.address();
      if (address === null || typeof address === 'string') {
        throw new Error(`could not read the port bound on ${host}`);
      }
      ports.push(address.port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
