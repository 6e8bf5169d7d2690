import { type Config, MemoryStorage } from '../src/index.js';

/** Node 1 of a new 3-node cluster (election tick 10, heartbeat tick 1), changed by `overrides`. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return {
    id: 1,
    peers: [1, 2, 3],
    electionTick: 10,
    heartbeatTick: 1,
    storage: new MemoryStorage(),
    ...overrides,
  };
}
