/**
 * The operator console in a real browser (issue 16, "Tests"): the local stack (`cli/start.ts`)
 * as a child process serving the built console (`dist/console`, what `npm run build` makes) at
 * its `consoleUrl`, driven in headless Chromium (Debian's `chromium`, through playwright-core).
 * Schedule from the form and see the group on the timeline; watch it run and turn Succeeded
 * without a reload; cancel, reschedule, edit and retry from a group's page; pause and resume a
 * lane; add and remove a freeze window; filter the groups by due window; a refused action shows
 * the API's reason in words.
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

  /** The group as the CLI sees it (`show --json`). */
  const groupOf = async (id: string) => JSON.parse((await cli('show', id, '--json')).stdout) as { status: string; version: number; scheduledAt?: string; promotions: { source: string }[]; history: { reason: string }[] };
  /** A group's page with its create-time pre-flight check recorded: the version an If-Match should carry. */
  const openChecked = async (id: string) => {
    await page.goto(`${consoleUrl}#/groups/${id}`);
    await expect.poll(() => page.locator('[data-preflight]').getAttribute('data-preflight'), { timeout: 10_000 }).toBe('clean');
  };
  const shownAt = () => page.getByTestId('scheduled-at').locator('time').getAttribute('datetime');
  const utc = (iso: string) => `${new Date(iso).toISOString().slice(0, 19).replace('T', ' ')} UTC`;

  it('reschedules a group from its page (a time without an offset refused in the dialog) and edits its promotions: page, CLI and timeline agree', async () => {
    // Prepare
    const made = await cli('schedule', '--id', 'console-edit', '--target', 'main', '--source', 'feature/a', '--at', '+30m', '--json');
    expect(made.code, made.stderr).toBe(0);
    await openChecked('console-edit');
    const dialog = page.getByTestId('reschedule-dialog');
    // Act 1: a time without an offset is refused in the dialog, nothing sent
    await page.getByRole('button', { name: 'Reschedule', exact: true }).click();
    await dialog.getByLabel('New time').fill('2026-12-24T10:00:00');
    await dialog.getByRole('button', { name: 'Confirm reschedule' }).click();
    await expect.poll(() => dialog.getByTestId('at-problem').textContent()).toMatch(/no zone offset/);
    expect((await groupOf('console-edit')).history.some((t) => /rescheduled/.test(t.reason))).toBe(false);
    // Act 2: a relative time
    const before = Date.now();
    await dialog.getByLabel('New time').fill('+2h');
    await dialog.getByRole('button', { name: 'Confirm reschedule' }).click();
    // Assess: the page shows the API's new time, which is two hours on
    await expect.poll(async () => Date.parse((await shownAt()) ?? '') - before, { timeout: 10_000 }).toBeGreaterThanOrEqual(2 * 3_600_000);
    const moved = await groupOf('console-edit');
    expect(Date.parse(moved.scheduledAt!) - before).toBeLessThan(2 * 3_600_000 + 60_000);
    expect(await shownAt()).toBe(moved.scheduledAt);
    expect(await dialog.isVisible()).toBe(false);
    // Act 3: edit the promotions once the reschedule's pre-flight check is recorded (a new version)
    await expect.poll(() => page.locator('[data-preflight]').getAttribute('data-preflight'), { timeout: 10_000 }).toBe('clean');
    const edit = page.getByTestId('edit-dialog');
    await page.getByRole('button', { name: 'Edit promotions' }).click();
    expect(await edit.getByLabel('Sources').inputValue()).toBe('feature/a');
    await edit.getByRole('button', { name: 'Confirm edit' }).click();
    await expect.poll(() => edit.getByTestId('sources-problem').textContent()).toMatch(/unchanged/);
    await edit.getByLabel('Sources').fill('feature/b\nfeature/a\n\nfeature/c');
    await edit.getByRole('button', { name: 'Confirm edit' }).click();
    // Assess: in the order typed, on the page and for the CLI
    await expect.poll(() => page.getByTestId('promotions').locator('li').allTextContents(), { timeout: 10_000 }).toEqual(['feature/b', 'feature/a', 'feature/c']);
    expect((await groupOf('console-edit')).promotions.map((p) => p.source)).toEqual(['feature/b', 'feature/a', 'feature/c']);
    expect(await page.getByTestId('problem').textContent()).toBe('');
    // And the timeline draws it at its new time
    await page.goto(`${consoleUrl}#/timeline`);
    const mark = page.locator(`[data-lane="${repo}:main"] [data-group-id="console-edit"]`);
    await mark.waitFor({ timeout: 10_000 });
    expect(await mark.getAttribute('title')).toContain(utc(moved.scheduledAt!));
  });

  it('refuses a reschedule sent with the version of a page that another write passed (412): the reason in words, and the group as it is now', async () => {
    // Prepare: the page open on the group, the dialog open on its version
    const made = await cli('schedule', '--id', 'console-stale', '--target', 'main', '--source', 'feature/a', '--at', '+50m', '--json');
    expect(made.code, made.stderr).toBe(0);
    await openChecked('console-stale');
    await page.getByRole('button', { name: 'Reschedule', exact: true }).click();
    const dialog = page.getByTestId('reschedule-dialog');
    await dialog.getByLabel('New time').fill('+65m');
    // Act: another operator moves it meanwhile, then this one confirms
    const other = await cli('reschedule', 'console-stale', '--at', '+55m', '--json');
    expect(other.code, other.stderr).toBe(0);
    const theirs = (JSON.parse(other.stdout) as { scheduledAt: string }).scheduledAt;
    await dialog.getByRole('button', { name: 'Confirm reschedule' }).click();
    // Assess: refused in words; the page shows the other operator's time, which is what the API kept
    await expect.poll(() => page.getByTestId('problem').textContent(), { timeout: 10_000 }).toMatch(/not at the version given in If-Match/);
    await expect.poll(() => shownAt(), { timeout: 10_000 }).toBe(theirs);
    expect((await groupOf('console-stale')).scheduledAt).toBe(theirs);
  });

  it('retries a Conflicted group from its page with a reason and a time: it is Scheduled again', async () => {
    // Prepare: two sources that conflict (both change shared.txt), due now, on their own lane
    const made = await cli('schedule', '--id', 'console-retry', '--target', 'release', '--source', 'feature/x', '--source', 'feature/y', '--at', 'now', '--json');
    expect(made.code, made.stderr).toBe(0);
    await page.goto(`${consoleUrl}#/groups/console-retry`);
    await expect.poll(() => page.getByTestId('group-status').textContent(), { timeout: 30_000, interval: 250 }).toBe('Conflicted');
    expect(await page.getByTestId('outcome-conflicts').textContent()).toContain('shared.txt');
    // Act
    await page.getByRole('button', { name: 'Retry', exact: true }).click();
    const dialog = page.getByTestId('retry-dialog');
    await dialog.getByLabel('Reason (optional)').fill('browser test: sources to be fixed');
    await dialog.getByLabel('Time (optional)').fill('+30m');
    const before = Date.now();
    await dialog.getByRole('button', { name: 'Confirm retry' }).click();
    // Assess: Scheduled again, at the time given, the reason in its history
    await expect.poll(() => page.getByTestId('group-status').textContent(), { timeout: 10_000 }).toBe('Scheduled');
    await expect.poll(async () => Date.parse((await shownAt()) ?? '') - before).toBeGreaterThanOrEqual(30 * 60_000);
    expect(await page.getByTestId('history').textContent()).toContain('retry after Conflicted');
    const retried = await groupOf('console-retry');
    expect(retried.status).toBe('Scheduled');
    expect(retried.history.some((t) => t.reason.endsWith(': browser test: sources to be fixed'))).toBe(true);
    expect(await page.getByRole('button', { name: 'Retry', exact: true }).isVisible()).toBe(false);
  });

  it('adds a freeze window from the form (a refusal first, in words), lists it and draws it on the timeline, and removes it, saying how many groups it released', async () => {
    // Prepare: the Freezes view by its link; the focus on its heading
    await page.goto(`${consoleUrl}#/timeline`);
    await page.getByRole('link', { name: 'Freezes', exact: true }).click();
    await page.waitForURL(/#\/freezes$/);
    await expect.poll(() => page.locator(':focus').textContent()).toBe('Freeze windows');
    await page.getByLabel('Reason', { exact: true }).fill('browser test freeze');
    // Act 1: a weekly rule with an offset for its zone: the API refuses it, naming the field
    await page.getByLabel('Weekly', { exact: true }).check();
    await page.getByLabel('Weekly rule').fill('Fri 16:00-Mon 08:00');
    await page.getByLabel('Time zone').fill('+02:00');
    await page.getByRole('button', { name: 'Add freeze' }).click();
    await page.getByRole('button', { name: 'Confirm add freeze' }).click();
    // Assess 1
    await expect.poll(() => page.getByTestId('form-problem').textContent(), { timeout: 10_000 }).toMatch(/tz/);
    expect(await page.getByLabel('Time zone').getAttribute('aria-invalid')).toBe('true');
    // Act 2: a one-off freeze, from now for two hours, of a target branch no other test uses
    await page.getByLabel('One-off: from – until').check();
    await page.getByLabel('Time zone').fill('');
    await page.getByLabel('Target branch (optional)').fill('frozen');
    await page.getByLabel('From', { exact: true }).fill('now');
    await page.getByLabel('Until', { exact: true }).fill('+2h');
    await page.getByRole('button', { name: 'Add freeze' }).click();
    await page.getByRole('button', { name: 'Confirm add freeze' }).click();
    // Assess 2: listed, holding now, over that branch in every repository
    await expect.poll(() => page.getByTestId('freeze-done').textContent(), { timeout: 10_000 }).toMatch(/^Added freeze fz-[0-9a-f]{10} /);
    const id = /fz-[0-9a-f]{10}/.exec((await page.getByTestId('freeze-done').textContent()) ?? '')![0];
    try {
      const row = page.locator(`[data-testid="freezes-table"] tr[data-freeze-id="${id}"]`);
      await row.waitFor({ timeout: 10_000 });
      expect(await row.getAttribute('data-state')).toBe('holding');
      expect(await row.textContent()).toContain('frozen in every repository');
      // On the timeline: a band in the freezes strip, and in the list below
      await page.goto(`${consoleUrl}#/timeline`);
      await page.locator(`.tl-freezes [data-freeze-id="${id}"]`).waitFor({ timeout: 10_000 });
      expect(await page.locator(`[data-testid="freeze-list"] [data-freeze-id="${id}"]`).textContent()).toContain('browser test freeze');
      // A group of that branch coming due is held by it. Due beyond the look-ahead (5 s): the pollers
      // decide it with a freeze list (cached up to 1 s) that has the freeze.
      const made = await cli('schedule', '--id', 'console-frozen', '--target', 'frozen', '--source', 'feature/c', '--at', '+8s', '--json');
      expect(made.code, made.stderr).toBe(0);
      await page.goto(`${consoleUrl}#/groups/console-frozen`);
      await expect.poll(() => page.getByTestId('group-details').textContent(), { timeout: 25_000, interval: 250 }).toContain('held by a freeze (browser test freeze)');
      // Act 3: remove it
      await page.goto(`${consoleUrl}#/freezes`);
      await page.getByRole('button', { name: `Remove freeze ${id}` }).click();
      await page.getByRole('button', { name: 'Confirm remove freeze' }).click();
      // Assess 3: gone, and the held group released
      await expect.poll(() => page.getByTestId('freeze-done').textContent(), { timeout: 15_000 }).toBe(`Removed freeze ${id} (browser test freeze); released 1 held group.`);
      await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(0);
      const listed = JSON.parse((await cli('freeze', 'list', '--json')).stdout) as { freeze: { id: string } }[];
      expect(listed.map((v) => v.freeze.id)).not.toContain(id);
    } finally {
      // A failure half way must not leave the freeze holding groups of later tests.
      await cli('freeze', 'remove', id);
    }
  });

  it('filters the groups by due window, refusing a time without an offset', async () => {
    // Prepare: a group in a window no other test uses, and one after it
    const made = await Promise.all([
      cli('schedule', '--id', 'console-due', '--target', 'main', '--source', 'feature/a', '--at', '+4h', '--json'),
      cli('schedule', '--id', 'console-due-later', '--target', 'main', '--source', 'feature/a', '--at', '+5h', '--json'),
    ]);
    for (const m of made) expect(m.code, m.stderr).toBe(0);
    await page.goto(`${consoleUrl}#/groups`);
    const rows = page.locator('[data-testid="groups-table"] tr[data-group-id]');
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBeGreaterThan(1);
    // Act 1: a time without an offset
    await page.getByLabel('Due after').fill('2026-12-24T10:00:00');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    // Assess 1
    await expect.poll(() => page.getByTestId('filter-problem').textContent()).toMatch(/no zone offset/);
    expect(await page.getByLabel('Due after').getAttribute('aria-invalid')).toBe('true');
    // Act 2: the window around it
    await page.getByLabel('Due after').fill('+3h30m');
    await page.getByLabel('Due before').fill(new Date(Date.now() + 4.5 * 3_600_000).toISOString());
    await page.getByRole('button', { name: 'Apply filters' }).click();
    // Assess 2: that group only (the ones before and after it left out)
    await expect.poll(() => rows.evaluateAll((list) => list.map((r) => r.getAttribute('data-group-id'))), { timeout: 10_000 }).toEqual(['console-due']);
    expect(await page.getByTestId('filter-problem').textContent()).toBe('');
    // The location keeps them, relative times resolved: a reload shows the same groups
    const kept = new URLSearchParams(new URL(page.url()).hash.split('?')[1] ?? '');
    expect(Date.parse(kept.get('dueAfter') ?? '')).toBeGreaterThan(Date.now() + 3 * 3_600_000);
    expect(kept.has('dueBefore')).toBe(true);
    await page.reload();
    await expect.poll(() => rows.evaluateAll((list) => list.map((r) => r.getAttribute('data-group-id'))), { timeout: 10_000 }).toEqual(['console-due']);
    expect(await page.getByLabel('Due after').inputValue()).toBe(kept.get('dueAfter'));
    // A link with a status there is not: said, the window still applied, the status left out of the location
    await page.goto(`${consoleUrl}#/groups?status=Sheduled&${kept.toString()}`);
    await expect.poll(() => page.getByTestId('filter-problem').textContent()).toMatch(/Status not applied.*'Sheduled' is none of Pending, /);
    await expect.poll(() => rows.evaluateAll((list) => list.map((r) => r.getAttribute('data-group-id'))), { timeout: 10_000 }).toEqual(['console-due']);
    await expect.poll(() => new URL(page.url()).hash).toBe(`#/groups?${kept.toString()}`);
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
