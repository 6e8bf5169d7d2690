/**
 * How fast the codec and the transport are. `pnpm bench` runs it; the numbers are for comparing
 * two versions on one machine, not for pass/fail.
 */
import { EntryType, type Message, MessageType, message } from '@tinyraft/raft-core';
import { decodeMessages, encodeMessages, WebSocketTransport } from '@tinyraft/transport-ws';

const heartbeat = message({
  msgType: MessageType.MsgHeartbeat,
  from: 1,
  to: 2,
  term: 9,
  commit: 1234,
});
const appendBatch: Message[] = [
  message({
    msgType: MessageType.MsgAppend,
    from: 1,
    to: 2,
    term: 9,
    logTerm: 9,
    index: 100_000,
    commit: 99_990,
    entries: Array.from({ length: 64 }, (_, k) => ({
      entryType: EntryType.Normal,
      term: 9,
      index: 100_001 + k,
      data: new Uint8Array(256).fill(k),
    })),
  }),
];

/** Runs `work` for about `ms` milliseconds and returns runs per second. */
function rate(work: () => void, ms = 500): number {
  for (let i = 0; i < 1000; i++) {
    work();
  }
  let runs = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    for (let i = 0; i < 100; i++) {
      work();
    }
    runs += 100;
  }
  return (runs * 1000) / (performance.now() - start);
}

function codecRow(name: string, batch: Message[]): void {
  const frame = encodeMessages(batch);
  const enc = rate(() => encodeMessages(batch));
  const dec = rate(() => decodeMessages(frame));
  console.log(
    `${name.padEnd(24)} ${String(frame.length).padStart(7)} B  encode ${fmt(enc)}/s  decode ${fmt(dec)}/s`,
  );
}

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(1)}k`;
}

/** Heartbeats per second from one transport to another over loopback, in batches of `batch`. */
async function loopback(total: number, batch: number): Promise<number> {
  const options = { listen: { host: '127.0.0.1', port: 0 }, peers: {}, secret: 'bench secret' };
  const one = new WebSocketTransport({ ...options, id: 1 });
  const two = new WebSocketTransport({ ...options, id: 2 });
  let received = 0;
  let done: () => void = () => undefined;
  two.onMessage(() => {
    received++;
    if (received === total) {
      done();
    }
  });
  await Promise.all([one.start(), two.start()]);
  one.setPeer(2, `ws://127.0.0.1:${two.port}`);
  // Node 2 only accepts peers it knows.
  two.setPeer(1, `ws://127.0.0.1:${one.port}`);
  for (let i = 0; one.stats().connectedPeers.length === 0; i++) {
    if (i === 400) {
      throw new Error('node 1 did not connect to node 2 within 2 s');
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const msgs = Array.from({ length: batch }, () => heartbeat);
  const start = performance.now();
  for (let sent = 0; sent < total; sent += batch) {
    one.send(msgs);
    // Let the socket drain now and then so that backpressure does not drop the rest.
    if (one.stats().droppedOutbound.backpressure > 0) {
      throw new Error('the bench overran the send buffer; lower the total');
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  await finished;
  const perSec = (total * 1000) / (performance.now() - start);
  await Promise.all([one.close(), two.close()]);
  return perSec;
}

codecRow('heartbeat', [heartbeat]);
codecRow('append, 64 × 256 B', appendBatch);
for (const batch of [1, 16, 128]) {
  const perSec = await loopback(batch * 2000, batch);
  console.log(`loopback, batches of ${String(batch).padEnd(4)} ${fmt(perSec)} messages/s`);
}
