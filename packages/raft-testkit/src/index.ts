export {
  blackHole,
  idsBySize,
  newTestConfig,
  newTestRaft,
  type StateMachine,
} from './harness.js';
export { ManualTicker, MemoryTransportHub } from './memory-transport.js';
export { Network, type NetworkOptions } from './network.js';
export { seededRandom } from './random.js';
