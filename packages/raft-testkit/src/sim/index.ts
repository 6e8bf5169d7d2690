/** The chaos simulator: seeded runs of whole clusters under faults, checked against Raft's invariants. */
export {
  addResult,
  type CampaignFailure,
  type CampaignSummary,
  emptySummary,
  formatSummary,
  mergeSummaries,
  runCampaign,
} from './campaign.js';
export { runSimulation, type SimOptions, type SimResult, type SimStats } from './cluster.js';
export { describeFault, type Fault, type FaultKind, faultKinds } from './faults.js';
export {
  checkLogsAgree,
  type InvariantName,
  InvariantViolation,
  type NodeView,
  SafetyChecker,
} from './invariants.js';
export type { InjectedBug } from './node.js';
export {
  editPlan,
  type NetworkProfile,
  type PlanEdit,
  type PlanOptions,
  planSimulation,
  type Quietable,
  quietables,
  replayArgs,
  type SimPlan,
  unitsPerTick,
} from './plan.js';
export { type Shrunk, shrinkFailure } from './shrink.js';
