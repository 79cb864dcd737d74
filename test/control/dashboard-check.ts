/**
 * The browser half of the dashboard tests: headless Chromium (Debian's
 * chromium package) driven by playwright-core loads a dashboard, checks the
 * nodes, the heat map and the console, and saves a screenshot. Used over a
 * synthetic cluster (test/control/dashboard-browser.test.ts) and over a real
 * 2-node Linux guest (test/guest/dashboard-linux.test.ts).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const CHROMIUM = process.env.HYDRAVM_CHROMIUM ?? '/usr/bin/chromium';
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

/** Why the browser tests cannot run here, or false. */
export const browserSkip: string | false = !existsSync(CHROMIUM)
  ? `${CHROMIUM} is missing (apt-get install chromium)`
  : !playwright
    ? 'playwright-core is not installed (npm install)'
    : false;

export interface DashboardCheck {
  /** Time allowed for the console command's output. */
  consoleTimeoutMs: number;
  /** Screenshot file name under HYDRAVM_ARTIFACTS (default test-artifacts/). */
  screenshot: string;
}

/** Loads the dashboard at `url`, checks it shows two nodes' pages and a working console, saves a screenshot. */
export async function checkDashboardInBrowser(url: string, o: DashboardCheck): Promise<void> {
  const browser = await playwright!.chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForSelector('#console-status[data-state="connected"]', { timeout: 15_000 });
    // Two polls: the heat map is drawn and the charts have an interval.
    await page.waitForFunction(() => Number(document.body.dataset.polls ?? 0) >= 2, undefined, { timeout: 30_000 });

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
      { timeout: o.consoleTimeoutMs },
    );

    const dir = resolve(process.env.HYDRAVM_ARTIFACTS ?? 'test-artifacts');
    mkdirSync(dir, { recursive: true });
    const shot = join(dir, o.screenshot);
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 10_000, 'screenshot written');
    assert.deepEqual(pageErrors, [], 'no JavaScript errors on the page');
  } finally {
    await browser.close();
  }
}
