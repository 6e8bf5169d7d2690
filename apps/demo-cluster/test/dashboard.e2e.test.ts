import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dashboard } from '../src/dashboard.js';
import { Cluster } from '../src/supervisor.js';
import { assertBuilt, nodeEntry } from './helpers.js';

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const flags = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let cluster: Cluster | undefined;
let dashboard: Dashboard | undefined;
let browser: BrowserContext | undefined;
let profile: string | undefined;

beforeAll(assertBuilt);

afterAll(async () => {
  await browser?.close();
  await dashboard?.close();
  await cluster?.stop();
  if (profile !== undefined) {
    rmSync(profile, { recursive: true, force: true });
  }
});

describe('the dashboard in a browser', () => {
  it('shows a leader, and after "kill" on the leader shows a new one', async () => {
    expect(
      existsSync(chromiumPath),
      `Chromium not found at ${chromiumPath}: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM_PATH`,
    ).toBe(true);
    cluster = await Cluster.start({
      nodes: 3,
      tickMs: 20,
      electionTicks: 10,
      heartbeatTicks: 1,
      nodeEntry,
      currentFile: null,
    });
    dashboard = new Dashboard(cluster);
    const url = await dashboard.listen(0);

    profile = mkdtempSync(join(tmpdir(), 'tinyraft-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      args: flags,
      timeout: 20_000,
    });
    const page = browser.pages()[0] ?? (await browser.newPage());
    await page.goto(url, { timeout: 10_000 });

    const leader = page.getByTestId('leader');
    const leaderId = async () => Number((await leader.getAttribute('data-leader')) ?? '0');
    await expect.poll(leaderId, { timeout: 15_000 }).toBeGreaterThan(0);
    const first = await leaderId();
    expect(first).toBeGreaterThan(0);
    await expect
      .poll(() => page.getByTestId(`node-${first}`).getAttribute('data-role'), { timeout: 5_000 })
      .toBe('leader');

    await page.getByTestId(`kill-${first}`).click();
    await expect
      .poll(
        async () => {
          const id = await leaderId();
          return id !== 0 && id !== first;
        },
        { timeout: 15_000 },
      )
      .toBe(true);
    const second = await leaderId();
    expect(second).not.toBe(first);
    // The new leader can show before the dashboard's next update marks the killed node down (on
    // a loaded machine leadership may even have moved before the kill): wait for it.
    await expect
      .poll(() => page.getByTestId(`node-${first}`).getAttribute('data-state'), { timeout: 5_000 })
      .toBe('down');
    await expect
      .poll(() => page.getByTestId('timeline').textContent(), { timeout: 5_000 })
      .toContain(`node ${first} killed`);

    // Restarting the killed node brings it back as a follower.
    await page.getByTestId(`restart-${first}`).click();
    await expect
      .poll(() => page.getByTestId(`node-${first}`).getAttribute('data-role'), { timeout: 15_000 })
      .toBe('follower');
  });
});
