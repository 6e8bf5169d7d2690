/**
 * The transport benches report exactly like raft-core's: median with the 10th and 90th
 * percentiles, aligned tables, and `bench-results/<name>.json` at the repository root.
 */
export {
  fmt,
  fmtSpread,
  printTable,
  quantile,
  type Spread,
  spread,
  writeResults,
} from '@tinyraft/raft-testkit';
