import { type CoreModule, RaftCluster } from './cluster.js';
import type { BenchCase } from './harness.js';

/**
 * Message throughput: a settled leader ticks (heartbeatTick is 1, so every tick broadcasts a
 * heartbeat) and the cluster settles; a round is 2·(size − 1) messages stepped, the heartbeats and
 * their responses. The unit of work is one message stepped.
 */
export function heartbeatCase(label: string, core: CoreModule, size: number): BenchCase {
  return {
    name: `${label} heartbeat ${size} nodes`,
    params: { core: label, nodes: size },
    prepare(n) {
      const c = new RaftCluster(core, size);
      const leader = c.node(1);
      leader.step(core.message({ msgType: core.MessageType.MsgHup, from: 1, to: 1 }));
      c.settle();
      const rounds = Math.max(1, Math.round(n / (2 * (size - 1))));
      return () => {
        let stepped = 0;
        for (let k = 0; k < rounds; k++) {
          leader.tick();
          stepped += c.settle();
        }
        if (stepped !== rounds * 2 * (size - 1) || leader.state !== core.StateType.Leader) {
          throw new Error(`heartbeat ${size} nodes: ${stepped} messages in ${rounds} rounds`);
        }
        return stepped;
      };
    },
  };
}
