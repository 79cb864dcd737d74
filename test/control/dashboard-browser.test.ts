/**
 * The dashboard in headless Chromium over a synthetic cluster and a fake
 * shell: fast, and independent of a guest. The same checks run against a
 * real 2-node Linux VM in test/guest/dashboard-linux.test.ts.
 */
import { test } from 'node:test';
import { withDashboard } from './dashboard-fake-console.js';
import { browserSkip, checkDashboardInBrowser } from './dashboard-check.js';

test('dashboard in headless Chromium: console round trip, two page owners, screenshot', { skip: browserSkip, timeout: 120_000 }, async () => {
  await withDashboard(async (dashboard, shell) => {
    shell.write('HydraVM fake guest\r\n' + shell.prompt);
    await checkDashboardInBrowser(dashboard.url, { consoleTimeoutMs: 10_000, screenshot: 'dashboard-synthetic.png' });
  });
});
