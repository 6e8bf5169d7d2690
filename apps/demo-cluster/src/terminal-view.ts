import type { Cluster, ClusterEvent, NodeView } from './supervisor.js';

const ansi = {
  up: (n: number) => `\x1b[${n}F`,
  clearBelow: '\x1b[J',
  bold: (s: string) => `\x1b[1m${s}\x1b[22m`,
  dim: (s: string) => `\x1b[2m${s}\x1b[22m`,
  green: (s: string) => `\x1b[32m${s}\x1b[39m`,
  yellow: (s: string) => `\x1b[33m${s}\x1b[39m`,
  red: (s: string) => `\x1b[31m${s}\x1b[39m`,
};

/** `HH:MM:SS.mmm` in local time. */
export function clock(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

export function formatEvent(e: ClusterEvent): string {
  return `${clock(e.at)}  ${e.message}`;
}

/** How long ago `at` was, for humans; `-` for never. */
export function ago(at: number, now: number): string {
  if (at === 0) {
    return '-';
  }
  const ms = Math.max(0, now - at);
  return ms < 10_000 ? `${ms} ms` : `${(ms / 1000).toFixed(0)} s`;
}

interface Row {
  cells: string[];
  color: (s: string) => string;
}

const header = [
  'node',
  'pid',
  'process',
  'role',
  'term',
  'leader',
  'heartbeat',
  'last',
  'commit',
  'applied',
  '',
];

function row(n: NodeView, now: number): Row {
  const r = n.state === 'up' ? n.report : null;
  const role = r?.role ?? '-';
  const cells = [
    String(n.id),
    n.pid === null ? '-' : String(n.pid),
    n.state,
    role,
    r === null ? '-' : String(r.term),
    r === null || r.leader === 0 ? '-' : String(r.leader),
    r === null ? '-' : ago(r.lastHeartbeatAt, now),
    r === null ? '-' : String(r.lastIndex),
    r === null ? '-' : String(r.commit),
    r === null ? '-' : String(r.applied),
    r?.isolated ? 'ISOLATED' : '',
  ];
  const color =
    n.state !== 'up'
      ? ansi.red
      : role === 'leader'
        ? ansi.green
        : role === 'candidate' || role === 'pre-candidate'
          ? ansi.yellow
          : (s: string) => s;
  return { cells, color };
}

function table(rows: Row[], useColor: boolean): string[] {
  const all = [header, ...rows.map((r) => r.cells)];
  const widths = header.map((_, i) => Math.max(...all.map((cells) => (cells[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const head = line(header);
  return [
    useColor ? ansi.bold(head) : head,
    ...rows.map((r) => (useColor ? r.color(line(r.cells)) : line(r.cells))),
  ];
}

export interface TerminalViewOptions {
  out: NodeJS.WriteStream;
  /** Redraw in place with ANSI escapes; otherwise log line by line. */
  live: boolean;
  /** Lines printed once above the live table (URLs, data dir). */
  banner?: string[];
}

/**
 * The supervisor's terminal: on a TTY, a table with one row per node redrawn in place, with
 * timeline events scrolling above it; otherwise (piped, or CI=true) plain lines: every event as
 * it happens and the table whenever it has changed, at most every few seconds.
 */
export class TerminalView {
  private drawn = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private unsubscribe: (() => void) | undefined;
  private lastPlain = '';

  constructor(
    private readonly cluster: Cluster,
    private readonly options: TerminalViewOptions,
  ) {}

  start(): void {
    this.unsubscribe = this.cluster.onEvent((e) => this.event(e), true);
    if (this.options.live) {
      this.timer = setInterval(() => this.draw(), 200);
      this.draw();
    } else {
      this.timer = setInterval(() => this.logTable(), 5_000);
      this.logTable();
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.unsubscribe?.();
    if (this.options.live) {
      this.draw();
    }
  }

  private event(e: ClusterEvent): void {
    if (!this.options.live) {
      this.options.out.write(`${formatEvent(e)}\n`);
      return;
    }
    this.erase();
    this.options.out.write(`${ansi.dim(clock(e.at))}  ${e.message}\n`);
    this.draw();
  }

  private erase(): void {
    if (this.drawn > 0) {
      this.options.out.write(ansi.up(this.drawn) + ansi.clearBelow);
      this.drawn = 0;
    }
  }

  private draw(): void {
    const now = Date.now();
    const lines = ['', ...(this.options.banner ?? []), ...table(this.rows(now), true)];
    this.erase();
    this.options.out.write(`${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }

  private logTable(): void {
    // Heartbeat ages change all the time; log only when something else did.
    const now = Date.now();
    const steady = table(
      this.cluster.nodes().map((n) => row(n, 0)),
      false,
    ).join('\n');
    if (steady === this.lastPlain) {
      return;
    }
    this.lastPlain = steady;
    const lines = table(this.rows(now), false).map((l) => `${clock(now)}  ${l}`);
    this.options.out.write(`${lines.join('\n')}\n`);
  }

  private rows(now: number): Row[] {
    return this.cluster.nodes().map((n) => row(n, now));
  }
}
