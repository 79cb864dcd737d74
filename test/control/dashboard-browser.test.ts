/**
 * End to end in a real browser: headless Chromium (Debian's chromium
 * package) driven by playwright-core loads the dashboard, types a command
 * into the xterm.js console and waits for its output, checks the heat map
 * shows pages owned by two nodes, and saves a screenshot.
 *
 * By default the dashboard runs here over a synthetic cluster and a fake
 * shell. Set HYDRAVM_DASHBOARD_URL (e.g. http://127.0.0.1:8080/) to test a
 * running VM's dashboard instead (a 2-node guest with a shell on its serial
 * console). HYDRAVM_ARTIFACTS sets the screenshot folder (default
 * test-artifacts/). Skipped when /usr/bin/chromium or playwright-core is
 * missing (apt-get install chromium; npm install).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startDashboard, type Dashboard } from '../../src/control/dashboard/server.js';
import { FakeCluster } from '../../src/control/stats-fake.js';
import { FakeShellConsole } from './dashboard-fake-console.js';

const CHROMIUM = process.env.HYDRAVM_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
/** Node colours of static/app.js's palette, as RGB. */
const NODE_RGB: [number, number, number][] = [
  [0x4e, 0x9b, 0xff],
  [0xff, 0x9f, 0x43],
];

async function loadPlaywright(): Promise<typeof import('playwright-core') | null> {
  try {
    return await import('playwright-core');
  } catch {
    return null;
  }
}

const playwright = await loadPlaywright();
const skip = !existsSync(CHROMIUM) ? `${CHROMIUM} is missing (apt-get install chromium)` : !playwright ? 'playwright-core is not installed (npm install)' : false;

test('dashboard in headless Chromium: console round trip, two page owners, screenshot', { skip, timeout: 120_000 }, async () => {
  const remote = process.env.HYDRAVM_DASHBOARD_URL;
  let dashboard: Dashboard | undefined;
  let url = remote;
  if (!url) {
    const fake = new FakeCluster({ nodes: 2, hartsPerNode: 2 });
    const shell = new FakeShellConsole();
    shell.write('HydraVM fake guest\r\n' + shell.prompt);
    dashboard = await startDashboard({
      listen: '127.0.0.1:0',
      source: async () => {
        fake.advance();
        return fake.nodes();
      },
      pages: async () => fake.pageMap(),
      console: shell,
      log: () => {},
    });
    url = dashboard.url;
  }
  const browser = await playwright!.chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForSelector('#console-status[data-state="connected"]', { timeout: 15_000 });
    // Two polls: the heat map is drawn and the charts have an interval.
    await page.waitForFunction(() => Number(document.body.dataset.polls ?? 0) >= 2, undefined, { timeout: 15_000 });

    // Nodes and harts.
    const nodeCards = await page.locator('#nodes .node').count();
    const harts = await page.locator('#nodes .hart').count();
    assert.ok(nodeCards >= 2, `${nodeCards} node cards`);
    assert.ok(harts >= 2, `${harts} harts shown`);

    // The heat map: its legend counts pages per owner, and its pixels carry both nodes' colours.
    const owners = JSON.parse((await page.locator('#heatmap').getAttribute('data-owners')) ?? '{}') as Record<string, number>;
    assert.ok((owners['0'] ?? 0) > 0 && (owners['1'] ?? 0) > 0, `pages owned by node 0 and node 1: ${JSON.stringify(owners)}`);
    const pixels = await page.evaluate((rgb) => {
      const c = document.getElementById('heatmap') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const counts = rgb.map(() => 0);
      for (let i = 0; i < d.length; i += 4) rgb.forEach(([r, g, b], k) => d[i] === r && d[i + 1] === g && d[i + 2] === b && counts[k]++);
      return counts;
    }, NODE_RGB);
    assert.ok(pixels[0]! > 0 && pixels[1]! > 0, `heat map pixels of node 0 / node 1: ${pixels.join(' / ')}`);

    // The console: type a command whose output differs from its echo.
    await page.click('#terminal');
    await page.keyboard.type('echo hydra-$((6*7))');
    await page.keyboard.press('Enter');
    await page.waitForFunction(
      () => {
        const t = (window as unknown as { hydraTerm?: { buffer: { active: { length: number; getLine(i: number): { translateToString(trim: boolean): string } | undefined } } } }).hydraTerm;
        if (!t) return false;
        const b = t.buffer.active;
        for (let i = 0; i < b.length; i++) if (b.getLine(i)?.translateToString(true).trim() === 'hydra-42') return true;
        return false;
      },
      undefined,
      { timeout: remote ? 60_000 : 10_000 },
    );

    const dir = resolve(process.env.HYDRAVM_ARTIFACTS ?? 'test-artifacts');
    mkdirSync(dir, { recursive: true });
    const shot = join(dir, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 10_000, 'screenshot written');
    assert.deepEqual(pageErrors, [], 'no JavaScript errors on the page');
  } finally {
    await browser.close();
    await dashboard?.close();
  }
});
