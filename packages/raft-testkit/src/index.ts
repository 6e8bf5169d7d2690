export {
  fmt,
  fmtSpread,
  printTable,
  quantile,
  repoRoot,
  resultsDir,
  type Spread,
  spread,
  writeResults,
} from './bench-report.js';
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
export {
  type CampaignSummary,
  editPlan,
  formatSummary,
  type InvariantName,
  InvariantViolation,
  type NodeView,
  type PlanEdit,
  type PlanOptions,
  planSimulation,
  runCampaign,
  runSimulation,
  SafetyChecker,
  type Shrunk,
  type SimOptions,
  type SimPlan,
  type SimResult,
  shrinkFailure,
} from './sim/index.js';
