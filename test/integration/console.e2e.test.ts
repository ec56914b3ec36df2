/**
 * The operator console in a real browser (issue 16, "Tests"): the local stack (`cli/start.ts`)
 * as a child process serving the built console (`dist/console`, what `npm run build` makes) at
 * its `consoleUrl`, driven in headless Chromium (Debian's `chromium`, through playwright-core).
 * Schedule from the form and see the group on the timeline; watch it run and turn Succeeded
 * without a reload; cancel one from its page; a refused action shows the API's reason in words.
 *
 * Screenshots: with `CONSOLE_SCREENSHOTS=1` the test writes the views it saw to `docs/` (what
 * the README and docs/console.md show).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliFor, makeRepository, ROOT, startLocalStack, stopLocalStack, type LocalStackProcess } from '../helpers/local-stack-process.ts';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => existsSync(path));
const SCREENSHOTS = process.env.CONSOLE_SCREENSHOTS === '1';

describe('the operator console in headless Chromium, on the local stack', { timeout: 180_000 }, () => {
  let dir: string;
  let dataDir: string;
  let repo: string;
  let stack: LocalStackProcess;
  let browser: Browser;
  let page: Page;
  let consoleUrl: string;

  const cli = (...args: string[]) => cliFor(dataDir)(...args);
  const shoot = async (name: string) => {
    if (SCREENSHOTS) await page.screenshot({ path: join(ROOT, 'docs', name), fullPage: true });
  };

  beforeAll(async () => {
    if (!CHROMIUM) throw new Error('chromium is not installed: `apt-get install -y chromium` (.ci/run installs it when missing)');
    dir = mkdtempSync(join(tmpdir(), 'promotion-console-'));
    dataDir = join(dir, 'data');
    repo = makeRepository(dir);
    stack = await startLocalStack(dataDir, ['--in-memory', '--repo', repo, '--poll-interval', '1', '--lookahead', '5']);
    ({ consoleUrl } = JSON.parse(readFileSync(join(dataDir, 'stack.json'), 'utf8')) as { consoleUrl: string });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 }, timezoneId: 'Europe/Berlin' });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await stopLocalStack(stack);
    rmSync(dir, { recursive: true, force: true });
  });

  it('is served at consoleUrl on the same loopback server as the API, with nothing loaded from elsewhere', async () => {
    // Act
    const requests: string[] = [];
    page.on('request', (request) => void requests.push(request.url()));
    const answer = await page.goto(consoleUrl);
    // Assess
    expect(consoleUrl, stack.output()).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/console\/$/);
    expect(stack.output()).toContain(`console        ${consoleUrl}`);
    expect(answer?.status()).toBe(200);
    await page.getByTestId('timeline').waitFor();
    const origin = new URL(consoleUrl).origin;
    expect(requests.filter((url) => !url.startsWith(origin))).toEqual([]);
    page.removeAllListeners('request');
  });

  it('schedules a group from the form, shows it on the timeline in its lane, and shows it turn Succeeded without a reload', async () => {
    // Prepare
    await page.goto(`${consoleUrl}#/schedule`);
    // Act: the form, as an operator fills it
    await page.getByLabel('Repository').fill(repo);
    await page.getByLabel('Target branch').fill('main');
    await page.getByLabel('Sources').fill('feature/a\nfeature/b');
    await page.getByLabel('Time').fill('+20s');
    await page.getByRole('button', { name: 'Schedule' }).click();
    // Assess: on the new group's page, Scheduled
    await page.waitForURL(/#\/groups\/.+/);
    const id = decodeURIComponent(new URL(page.url()).hash.replace('#/groups/', ''));
    await expect.poll(() => page.getByTestId('group-status').textContent(), { timeout: 10_000 }).toMatch(/Scheduled/);
    // On the timeline, in its lane, as a Scheduled mark
    await page.goto(`${consoleUrl}#/timeline`);
    const mark = page.locator(`[data-lane="${repo}:main"] [data-group-id="${id}"]`);
    await mark.waitFor({ timeout: 10_000 });
    expect(await mark.getAttribute('data-status')).toBe('Scheduled');
    await shoot('console-timeline.png');
    // Back on its page: it runs and turns Succeeded, the page never reloaded.
    await mark.click();
    await page.waitForURL(new RegExp(`#/groups/${id}$`));
    // A mark on the page's global object: a reload would drop it.
    await page.evaluate(() => ((globalThis as unknown as { notReloaded: boolean }).notReloaded = true));
    await expect.poll(() => page.getByTestId('group-status').textContent(), { timeout: 60_000, interval: 250 }).toMatch(/Succeeded/);
    expect(await page.evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    await shoot('console-group.png');
  });

  it('cancels a group from its page after a confirmation, and the timeline shows it Cancelled', async () => {
    // Prepare: a group far ahead, made with the CLI
    const made = await cli('schedule', '--id', 'console-cancel', '--target', 'main', '--source', 'feature/c', '--at', '+30m', '--json');
    expect(made.code, made.stderr).toBe(0);
    await page.goto(`${consoleUrl}#/groups/console-cancel`);
    await expect.poll(() => page.getByTestId('group-status').textContent(), { timeout: 10_000 }).toMatch(/Scheduled/);
    // Its pre-flight check (right after the create) recorded and shown: a new version, which an
    // If-Match taken before it would lose to (412, the page then showing the group as it is).
    await expect.poll(() => page.locator('[data-preflight]').getAttribute('data-preflight'), { timeout: 10_000 }).toBe('clean');
    // Act: Cancel, then Back (nothing happens), then Cancel and Confirm
    await page.getByRole('button', { name: 'Cancel group' }).click();
    await page.getByRole('button', { name: 'Back' }).click();
    expect(await page.getByTestId('group-status').textContent()).toMatch(/Scheduled/);
    await page.getByRole('button', { name: 'Cancel group' }).click();
    await page.getByRole('button', { name: 'Confirm cancel' }).click();
    // Assess
    await expect.poll(() => page.getByTestId('group-status').textContent(), { timeout: 10_000 }).toMatch(/Cancelled/);
    const shown = JSON.parse((await cli('show', 'console-cancel', '--json')).stdout) as { status: string; history: { by?: string }[] };
    expect(shown.status).toBe('Cancelled');
    await page.goto(`${consoleUrl}#/timeline`);
    const mark = page.locator('[data-group-id="console-cancel"]');
    await mark.waitFor({ timeout: 10_000 });
    expect(await mark.getAttribute('data-status')).toBe('Cancelled');
  });

  it('pauses a lane after a confirmation (a group due meanwhile waits, shown in its place), and resumes it: the group runs', async () => {
    // Prepare: the lane of the tests' groups (used above, so it has an item)
    const lanePage = `${consoleUrl}#/lanes/${encodeURIComponent(repo)}/${encodeURIComponent('main')}`;
    await page.goto(lanePage);
    await expect.poll(() => page.getByTestId('lane-state').textContent(), { timeout: 10_000 }).toBe('Running');
    // Act: pause, refusing an empty reason first
    await page.getByRole('button', { name: 'Pause lane' }).click();
    await page.getByRole('button', { name: 'Confirm pause' }).click();
    await expect.poll(() => page.getByRole('dialog').getByRole('alert').textContent()).toMatch(/Give a reason/);
    await page.getByLabel('Reason').fill('browser test: hold the lane');
    await page.getByRole('button', { name: 'Confirm pause' }).click();
    // Assess: paused, as the CLI sees it too
    await expect.poll(() => page.getByTestId('lane-state').textContent(), { timeout: 10_000 }).toBe('Paused');
    const paused = JSON.parse((await cli('lane', 'show', '--target', 'main', '--json')).stdout) as { paused: { reason: string } | null };
    expect(paused.paused?.reason).toBe('browser test: hold the lane');
    // A group due now waits for the lane, and the lane page lists it, without a reload
    const made = await cli('schedule', '--id', 'console-waits', '--target', 'main', '--source', 'feature/d', '--at', '+6s', '--json');
    expect(made.code, made.stderr).toBe(0);
    await page.locator('a[href="#/groups/console-waits"]').waitFor({ timeout: 30_000 });
    // Act: resume
    await page.getByRole('button', { name: 'Resume lane' }).click();
    await page.getByRole('button', { name: 'Confirm resume' }).click();
    // Assess: running again, and the waiting group is handed the lane and runs
    await expect.poll(() => page.getByTestId('lane-state').textContent(), { timeout: 10_000 }).toBe('Running');
    await expect
      .poll(async () => (JSON.parse((await cli('show', 'console-waits', '--json')).stdout) as { status: string }).status, { timeout: 60_000, interval: 500 })
      .toBe('Succeeded');
  });

  it('shows a refused action in words: the API problem document of a bad source, and refuses a time without an offset before sending', async () => {
    // Prepare
    await page.goto(`${consoleUrl}#/schedule`);
    await page.getByLabel('Repository').fill(repo);
    await page.getByLabel('Target branch').fill('main');
    // Act 1: a time without an offset never leaves the browser
    await page.getByLabel('Sources').fill('feature/a');
    await page.getByLabel('Time').fill('2026-12-24T10:00:00');
    await page.getByRole('button', { name: 'Schedule' }).click();
    // Assess 1
    await expect.poll(() => page.getByTestId('form-problem').textContent()).toMatch(/offset/i);
    // Act 2: a source that is no git ref: the API refuses it (400 validation, the field named)
    await page.getByLabel('Time').fill('+1h');
    await page.getByLabel('Sources').fill('feature/a\nbad..ref');
    await page.getByRole('button', { name: 'Schedule' }).click();
    // Assess 2: the problem document in words, and still on the form
    await expect.poll(() => page.getByTestId('form-problem').textContent(), { timeout: 10_000 }).toMatch(/promotions\[1\]\.source|bad\.\.ref/);
    expect(page.url()).toMatch(/#\/schedule$/);
    expect(await page.getByRole('alert').filter({ hasText: /ref/ }).count()).toBeGreaterThan(0);
  });
});
