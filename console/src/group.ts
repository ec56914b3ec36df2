/**
 * The group view (`#/groups/<id>`): its promotions in order, status and times, lateness and lane
 * wait, the pre-flight check, the outcome with its conflicts, and the history; and the Cancel
 * action, confirmed in a dialog and sent with `If-Match` of the version on screen. A refusal is
 * shown in words (the problem document) and the group's current state is loaded.
 *
 * One conditional read a second (`If-None-Match`): a `304` redraws nothing. The dialog and the
 * action bar sit outside the redrawn part, so a refresh never closes the one or moves the focus.
 */
import { ApiError, cancelGroup, getGroup, isAbort } from './api.ts';
import type { Conflict, GroupPreflight, Outcome, PromotionGroup } from '../../client/types.ts';
import { watchStatuses } from './announce.ts';
import { h, redraw, uniqueId, type Child } from './dom.ts';
import { confirmDialog } from './dialog.ts';
import { duration, problemLines, timeElement } from './format.ts';
import { startPoll } from './poll.ts';
import { CANCELLABLE, holdNote, statusBadge } from './status.ts';
import { heading, loadNotice, type View } from './view.ts';

/** The group view for the group `id`. */
export function groupView(id: string): View {
  const title = heading(`Group ${id}`);
  const notice = loadNotice();
  const problem = h('div', { class: 'problem', role: 'alert', 'data-testid': 'problem' });
  const cancel = h('button', { type: 'button', class: 'danger', 'data-testid': 'cancel-group', hidden: true }, 'Cancel group');
  const details = h('div', { class: 'details', 'data-testid': 'group-details' }, h('p', null, 'Loading…'));
  const dialog = confirmDialog({ testId: 'cancel-dialog', confirm: 'Confirm cancel', reason: 'optional' });

  const element = h('section', { class: 'view group' }, title, h('div', { class: 'buttons actions' }, cancel), problem, notice.element, details, dialog.element);

  let group: PromotionGroup | undefined;
  /** The last read answered 404 (and said so). */
  let missing = false;

  /** The version the open dialog was shown for: the cancel's `If-Match`. */
  let version = 0;
  cancel.addEventListener('click', () => {
    if (!group) return;
    version = group.version;
    dialog.open({
      question: `Cancel group ${group.id}?`,
      explanation: `It is ${group.status} at version ${version}; once cancelled it will not run. If it changes before you confirm, the API refuses the cancel and this page shows the group as it is then.`,
    });
  });
  dialog.onConfirm(async (reason) => {
    problem.replaceChildren();
    try {
      show(await cancelGroup(id, version, reason || undefined));
    } catch (error) {
      refused(error);
    }
    poll.refresh();
    return cancel.hidden ? title : cancel;
  });

  function refused(error: unknown): void {
    const shown = error instanceof ApiError ? error.problem : { title: 'The cancel did not complete', status: 0, detail: String(error) };
    problem.replaceChildren(...problemLines(shown));
    // 409 and 412 carry the group as it is now; the next read confirms it either way.
    if (shown.group?.id === id) show(shown.group);
  }

  async function refresh(signal: AbortSignal): Promise<void> {
    try {
      const answer = await getGroup(id, signal);
      notice.clear();
      if (answer.changed || group?.version !== answer.body.version) show(answer.body);
    } catch (error) {
      if (isAbort(error)) return;
      if (error instanceof ApiError && error.problem.status === 404) {
        notice.clear();
        if (missing) return;
        missing = true;
        group = undefined;
        cancel.hidden = true;
        redraw(details, h('p', { 'data-testid': 'not-found' }, `There is no group ${id}. `, h('a', { href: '#/groups' }, 'See all groups.')));
      } else {
        notice.show(error);
      }
    }
  }

  function show(next: PromotionGroup): void {
    group = next;
    missing = false;
    watchStatuses([next]);
    const cancellable = CANCELLABLE.includes(next.status);
    if (cancel.hidden === cancellable) {
      if (!cancellable && document.activeElement === cancel) title.focus();
      cancel.hidden = !cancellable;
    }
    redraw(details, ...groupDetails(next));
  }

  const poll = startPoll(refresh);
  return { title: `Group ${id}`, element, heading: title, stop: () => poll.stop() };
}

function groupDetails(group: PromotionGroup): HTMLElement[] {
  const facts: [string, Child | Child[]][] = [
    ['Status', [statusBadge(group.status, { 'data-testid': 'group-status' }), holdNote(group) ? ` ${holdNote(group)}` : '']],
    ['Repository', h('code', null, group.repository)],
    ['Target branch', h('code', null, group.targetBranch)],
    ['Scheduled at', timeElement(group.scheduledAt)],
    ['Started at', timeElement(group.startedAt)],
    ['Finished at', timeElement(group.finishedAt)],
    ['Lateness', lateness(group)],
    ['Lane wait', laneWait(group)],
    ['Attempt', String(group.attempt)],
    ['Version', h('span', { 'data-testid': 'group-version' }, String(group.version))],
  ];
  if (group.description) facts.splice(3, 0, ['Description', group.description]);
  if (group.frozen) facts.push(['Frozen', [`by ${group.frozen.freezeId} (${group.frozen.reason}) until `, timeElement(group.frozen.until)]]);
  if (group.ignoreFreeze) facts.push(['Ignores freezes', [`asked by ${group.ignoreFreeze.by} at `, timeElement(group.ignoreFreeze.at)]]);
  if (group.lastError) facts.push(['Last error', group.lastError]);

  return [
    h('dl', { class: 'facts' }, facts.map(([term, value]) => [h('dt', null, term), h('dd', null, value)]).flat()),
    section('Promotions', h('ol', { class: 'promotions', 'data-testid': 'promotions' }, group.promotions.map((p) => h('li', null, h('code', null, p.source))))),
    section('Pre-flight check', preflight(group.preflight, group.preflightDueAt), 'preflight'),
    section('Outcome', outcome(group.outcome), 'outcome'),
    section('History', history(group)),
  ];
}

function section(name: string, content: Child | Child[], testId?: string): HTMLElement {
  const id = uniqueId('section');
  return h('section', { 'aria-labelledby': id, 'data-testid': testId }, h('h2', { id }, name), content);
}

function lateness(group: PromotionGroup): string {
  if (!group.scheduledAt) return 'not scheduled';
  if (!group.startedAt) return 'not started';
  return duration(Date.parse(group.startedAt) - Date.parse(group.scheduledAt));
}

function laneWait(group: PromotionGroup): Child | Child[] {
  if (group.laneWaitMs !== undefined) return duration(group.laneWaitMs);
  if (group.waiting) return ['waiting since ', timeElement(group.waiting.since)];
  return 'did not wait';
}

function preflight(check: GroupPreflight | undefined, dueAt: string | undefined): Child[] {
  const due: Child = dueAt ? h('p', null, 'Next check due at ', timeElement(dueAt), '.') : null;
  if (!check) return [h('p', { 'data-preflight': 'none' }, 'Not checked.'), due];
  const when: Child[] = [' (checked at ', timeElement(check.at), ')'];
  switch (check.result) {
    case 'clean':
      return [h('p', { 'data-preflight': 'clean' }, 'Clean: no conflicts', ...when, '.'), due];
    case 'conflicts':
      return [h('p', { 'data-preflight': 'conflicts' }, 'Conflicts', ...when, ':'), conflicts(check.conflicts ?? [], 'preflight-conflicts'), due];
    case 'error':
      return [h('p', { 'data-preflight': 'error' }, 'Could not check', ...when, `: ${check.error ?? 'no reason given'}.`), due];
  }
}

function outcome(result: Outcome | undefined): Child[] {
  if (!result) return [h('p', null, 'Not finished.')];
  const lines: Child[] = [h('p', null, statusBadge(result.status), 'reason' in result ? ` ${result.reason}` : '')];
  switch (result.status) {
    case 'Succeeded':
      if (result.integrationBranch) lines.push(h('p', null, 'Integration branch: ', h('code', null, result.integrationBranch)));
      if (result.resultRef) lines.push(h('p', null, 'Result: ', h('code', null, result.resultRef)));
      if (result.detail) lines.push(h('p', null, result.detail));
      break;
    case 'Failed':
      if (result.error) lines.push(h('p', null, `Error: ${result.error}`));
      break;
    case 'Conflicted':
      lines.push(conflicts(result.conflicts, 'outcome-conflicts'));
      break;
    case 'Cancelled':
      lines.push(h('p', null, `Cancelled by ${result.by}.`));
      break;
  }
  return lines;
}

/** Conflicts as a list of sources, each with its conflicting paths. */
function conflicts(list: readonly Conflict[], testId: string): HTMLElement {
  return h(
    'ul',
    { class: 'conflicts', 'data-testid': testId },
    list.map((c) =>
      h(
        'li',
        { 'data-source': c.source },
        h('code', null, c.source),
        c.paths.length ? h('ul', null, c.paths.map((path) => h('li', null, h('code', null, path)))) : h('p', null, 'No paths reported.'),
        c.detail ? h('p', null, c.detail) : null,
      ),
    ),
  );
}

function history(group: PromotionGroup): HTMLElement {
  return h(
    'div',
    { class: 'table-scroll' },
    h(
      'table',
      { class: 'history', 'data-testid': 'history' },
      h('caption', { class: 'visually-hidden' }, 'Transitions, oldest first'),
      h('thead', null, h('tr', null, ['At', 'From', 'To', 'By', 'Attempt', 'Reason'].map((c) => h('th', { scope: 'col' }, c)))),
      h(
        'tbody',
        null,
        group.history.map((t) =>
          h('tr', null, h('td', null, timeElement(t.at)), h('td', null, t.from ?? '—'), h('td', null, t.to), h('td', null, t.by ?? '—'), h('td', null, String(t.attempt)), h('td', { class: 'wrap' }, t.reason)),
        ),
      ),
    ),
  );
}
