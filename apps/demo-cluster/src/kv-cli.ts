/**
 * `pnpm kv put <key> <value>`, `pnpm kv get <key>`, `pnpm kv delete <key>`: talks to the running
 * demo, found through the file the supervisor publishes (or `--cluster <cluster.json>`).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { KvClient } from './client.js';
import { type ClusterInfo, defaultCurrentFile } from './supervisor.js';

const usage = `Usage: pnpm kv put <key> <value> | get <key> | delete <key>  [--cluster <cluster.json>]
`;

function readCluster(file: string): ClusterInfo {
  let info: ClusterInfo;
  try {
    info = JSON.parse(readFileSync(file, 'utf8')) as ClusterInfo;
  } catch (error) {
    throw new Error(
      `no running demo found (${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}); start one with \`pnpm demo\``,
    );
  }
  try {
    process.kill(info.supervisorPid, 0);
  } catch {
    throw new Error(
      `the demo in ${file} (supervisor pid ${info.supervisorPid}) is not running; start one with \`pnpm demo\``,
    );
  }
  return info;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    options: { cluster: { type: 'string' }, help: { type: 'boolean' } },
    allowPositionals: true,
  });
  const [command, key, value] = positionals;
  if (values.help === true || command === undefined || key === undefined) {
    process.stdout.write(usage);
    return values.help === true ? 0 : 2;
  }
  const info = readCluster(values.cluster ?? defaultCurrentFile);
  const client = new KvClient({ urls: info.nodes.map((n) => n.url), deadlineMs: 10_000 });
  switch (command) {
    case 'put': {
      if (value === undefined) {
        process.stderr.write(usage);
        return 2;
      }
      const index = await client.put(key, value);
      process.stdout.write(`OK${index === null ? '' : ` (log index ${index})`}\n`);
      return 0;
    }
    case 'get': {
      const v = await client.get(key);
      if (v === undefined) {
        process.stderr.write(`key ${JSON.stringify(key)} not found\n`);
        return 1;
      }
      process.stdout.write(`${v}\n`);
      return 0;
    }
    case 'delete': {
      await client.delete(key);
      process.stdout.write('OK\n');
      return 0;
    }
    default:
      process.stderr.write(`unknown command ${JSON.stringify(command)}\n${usage}`);
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
