/**
 * The control channel between the driver and the forked peer (Node's IPC, never the sockets being
 * measured). The driver asks, the peer answers each request with exactly one reply; a request for
 * a new sample is answered only once the peer has reset its counters, so no frame of one sample is
 * ever counted in the next.
 */
import type { Impl } from './workload.js';

/** The shared secret of the two tinyraft nodes, passed in the environment of the fork. */
export const SECRET_ENV = 'TINYRAFT_BENCH_SECRET';

export type Request =
  /** Add the driver as peer 1 and wait until the peer's connection to it is authenticated. */
  | { type: 'connect'; url: string }
  /** Reset the counters; from now on frames arrive over `impl`, each carrying `perFrame` messages. */
  | { type: 'expect'; impl: Impl; perFrame: number; ackEvery: number }
  /** What happened since `expect`. */
  | { type: 'report' }
  | { type: 'stop' };

export interface PeerReport {
  type: 'report';
  /** Messages received since `expect`. */
  received: number;
  /** Messages that arrived over the other implementation than the expected one. */
  misrouted: number;
  /** CPU time (user + system) of the peer process since `expect`. */
  cpuUs: number;
  /** tinyraft frames dropped on receipt, and acknowledgements dropped on sending, since `expect`. */
  dropped: number;
}

export type Reply =
  | { type: 'listening'; transportPort: number; rawPort: number }
  | { type: 'connected' }
  | { type: 'ready' }
  | PeerReport
  | { type: 'stopped' }
  | { type: 'error'; message: string };
