/**
 * The group view (`#/groups/<id>`): its promotions in order, status and times, lateness and lane
 * wait, the pre-flight check, the outcome with its conflicts, and the history; and the actions the
 * status allows: Cancel, Reschedule and Edit promotions (a `PATCH`), Retry. Each is confirmed in a
 * dialog and sent with `If-Match` of the version the dialog was opened on. A refusal is shown in
 * words (the problem document) and the group's current state is loaded.
 *
 * One conditional read a second (`If-None-Match`): a `304` redraws nothing. The dialogs and the
 * action bar sit outside the redrawn part, so a refresh never closes the one or moves the focus.
 */
import { ApiError, cancelGroup, getGroup, isAbort, retryGroup, updateGroup } from './api.ts';
import type { Conflict, GroupPreflight, GroupStatus, Outcome, PromotionGroup } from '../../client/types.ts';
import { announce, watchStatuses } from './announce.ts';
import { h, redraw, uniqueId, type Child } from './dom.ts';
import { confirmDialog, type DialogRefusal } from './dialog.ts';
import { duration, localTime, problemLines, timeElement } from './format.ts';
import { localIsoIn, resolveTime, sourcesOf, timeHint } from './input.ts';
import { startPoll } from './poll.ts';
import { CANCELLABLE, EDITABLE, RETRYABLE, holdNote, statusBadge } from './status.ts';
import { onlyPreflightSince } from './versions.ts';
import { heading, loadNotice, type View } from './view.ts';

/** The group view for the group `id`. */
export function groupView(id: string): View {
  const title = heading(`Group ${id}`);
  const notice = loadNotice();
  const problem = h('div', { class: 'problem', role: 'alert', 'data-testid': 'problem' });
  const cancel = actionButton('Cancel group', 'cancel-group', 'danger');
  const reschedule = actionButton('Reschedule', 'reschedule-group');
  const edit = actionButton('Edit promotions', 'edit-promotions');
  const retry = actionButton('Retry', 'retry-group');
  /** Each action's button and the statuses that show it. */
  const actions: [HTMLButtonElement, readonly GroupStatus[]][] = [
    [reschedule, EDITABLE],
    [edit, EDITABLE],
    [retry, RETRYABLE],
    [cancel, CANCELLABLE],
  ];
  const details = h('div', { class: 'details', 'data-testid': 'group-details' }, h('p', null, 'Loading…'));
  const example = localIsoIn(10, Date.now());
  const cancelDialog = confirmDialog({ testId: 'cancel-dialog', confirm: 'Confirm cancel', destructive: true, reason: 'optional' });
  const rescheduleDialog = confirmDialog({
    testId: 'reschedule-dialog',
    confirm: 'Confirm reschedule',
    reason: 'none',
    fields: [{ name: 'at', label: 'New time', placeholder: example, hint: timeHint(example) }],
  });
  const editDialog = confirmDialog({
    testId: 'edit-dialog',
    confirm: 'Confirm edit',
    reason: 'none',
    fields: [{ name: 'sources', label: 'Sources', rows: 6, hint: 'One branch, tag or commit per line, in the order they are applied: add, remove or reorder the lines.' }],
  });
  const retryDialog = confirmDialog({
    testId: 'retry-dialog',
    confirm: 'Confirm retry',
    reason: 'optional',
    fields: [{ name: 'at', label: 'Time (optional)', placeholder: example, hint: `Empty: now (a group a pre-flight check ended before its time keeps that time). Else ${timeHint(example)}` }],
  });

  const element = h(
    'section',
    { class: 'view group' },
    title,
    h('div', { class: 'buttons actions' }, actions.map(([button]) => button)),
    problem,
    notice.element,
    details,
    [cancelDialog, rescheduleDialog, editDialog, retryDialog].map((d) => d.element),
  );

  let group: PromotionGroup | undefined;
  /** The last read answered 404 (and said so). */
  let missing = false;

  /** The version the open dialog was shown for: the action's `If-Match`. */
  let version = 0;
  /** The group as the open dialog was shown for it. */
  let opened: PromotionGroup | undefined;
  /** The sources the edit dialog was opened with. */
  let editedFrom: string[] = [];
  /** The last text sent from the edit dialog, and the version it was sent for. */
  let draft: { version: number; text: string } | undefined;

  cancel.addEventListener('click', () => {
    if (!group) return;
    opened = group;
    version = group.version;
    cancelDialog.open({
      question: `Cancel group ${group.id}?`,
      explanation: `It is ${group.status} at version ${version}; once cancelled it will not run. ${ifItChanges('cancel')}`,
    });
  });
  reschedule.addEventListener('click', () => {
    if (!group) return;
    opened = group;
    version = group.version;
    rescheduleDialog.open({
      question: `Reschedule group ${group.id}?`,
      explanation: `It is ${group.status} at version ${version}, ${group.scheduledAt ? `scheduled at ${localTime(group.scheduledAt)}` : 'without a time'}; give the new time. ${ifItChanges('reschedule')}`,
    });
  });
  edit.addEventListener('click', () => {
    if (!group) return;
    opened = group;
    version = group.version;
    editedFrom = group.promotions.map((p) => p.source);
    const text = draft?.version === version ? draft.text : editedFrom.join('\n');
    editDialog.open({
      question: `Edit the promotions of group ${group.id}?`,
      explanation: `It is ${group.status} at version ${version}, with ${editedFrom.length} promotion${editedFrom.length === 1 ? '' : 's'}. The new list replaces them, in the order given. ${ifItChanges('edit')}`,
      values: { sources: text },
    });
  });
  retry.addEventListener('click', () => {
    if (!group) return;
    opened = group;
    version = group.version;
    retryDialog.open({
      question: `Retry group ${group.id}?`,
      explanation: `It ended ${group.status} (version ${version}); a retry schedules it again as a new attempt. ${ifItChanges('retry')}`,
    });
  });

  cancelDialog.onConfirm((reason) => act('The cancel did not complete', () => cancelGroup(id, version, reason || undefined), cancel));
  rescheduleDialog.onConfirm(async (_reason, values): Promise<HTMLElement | DialogRefusal> => {
    const at = resolveTime(values.at ?? '', Date.now());
    if ('refused' in at) return { refused: at.refused, field: 'at' };
    return act('The reschedule did not complete', () => updateGroup(id, version, { scheduledAt: at.at }), reschedule, (done) => `Group ${id} rescheduled to ${localTime(done.scheduledAt ?? at.at)}.`);
  });
  editDialog.onConfirm(async (_reason, values): Promise<HTMLElement | DialogRefusal> => {
    const sources = sourcesOf(values.sources ?? '');
    if (sources.length === 0) return { refused: 'Give at least one source, one per line.', field: 'sources' };
    // An unchanged list would still be a write (a new version, a new pre-flight check): refused here.
    if (sources.join('\n') === editedFrom.join('\n')) return { refused: 'The promotions are unchanged: add, remove or reorder lines, or go back.', field: 'sources' };
    // Offered again only while the group is at this version: a refused edit wrote nothing.
    draft = { version, text: values.sources ?? '' };
    const promotions = sources.map((source) => ({ source }));
    return act('The edit did not complete', () => updateGroup(id, version, { promotions }), edit, (done) => `Group ${id}: promotions set to ${done.promotions.map((p) => p.source).join(', ')}.`);
  });
  retryDialog.onConfirm(async (reason, values): Promise<HTMLElement | DialogRefusal> => {
    const typed = (values.at ?? '').trim();
    const at = typed === '' ? undefined : resolveTime(typed, Date.now());
    if (at && 'refused' in at) return { refused: at.refused, field: 'at' };
    const body = { ...(reason ? { reason } : {}), ...(at ? { scheduledAt: at.at } : {}) };
    return act('The retry did not complete', () => retryGroup(id, version, body), retry);
  });

  /**
   * Send an action, show the group it answers (or the refusal in words and the group as it is
   * now), and read it again; `said`: what to announce on success (a status change announces itself).
   * Answers where the focus goes: the action's button while it is shown, else the heading.
   */
  async function act(failed: string, send: () => Promise<PromotionGroup>, button: HTMLButtonElement, said?: (done: PromotionGroup) => string): Promise<HTMLElement> {
    problem.replaceChildren();
    try {
      let done: PromotionGroup;
      try {
        done = await send();
      } catch (error) {
        // A pre-flight check recorded meanwhile (right after every create, edit, reschedule and
        // retry) moves the version and nothing the operator sees: confirmed again at the new one,
        // once, as the API itself re-decides a command without If-Match. Anything else is shown.
        const current = error instanceof ApiError && error.problem.status === 412 ? error.problem.group : undefined;
        if (!current || !opened || !onlyPreflightSince(opened, current)) throw error;
        version = current.version;
        // A draft of the edit stays offered at the new version, should the resend be refused too.
        if (draft) draft = { ...draft, version };
        done = await send();
      }
      show(done);
      if (said) announce(said(done));
    } catch (error) {
      refused(error, failed);
    }
    poll.refresh();
    return button.hidden ? title : button;
  }

  function refused(error: unknown, failed: string): void {
    const shown = error instanceof ApiError ? error.problem : { title: failed, status: 0, detail: String(error) };
    problem.replaceChildren(...problemLines(shown));
    // 409 and 412 carry the group as it is now; the next read confirms it either way.
    if (shown.group?.id === id) show(shown.group);
  }

  async function refresh(signal: AbortSignal): Promise<void> {
    try {
      const answer = await getGroup(id, signal);
      notice.clear();
      // A read sent before an action may answer after it: an older version is not drawn.
      if (group && answer.body.version < group.version) return;
      if (answer.changed || group?.version !== answer.body.version) show(answer.body);
    } catch (error) {
      if (isAbort(error)) return;
      if (error instanceof ApiError && error.problem.status === 404) {
        notice.clear();
        if (missing) return;
        missing = true;
        group = undefined;
        setActions(undefined);
        redraw(details, h('p', { 'data-testid': 'not-found' }, `There is no group ${id}. `, h('a', { href: '#/groups' }, 'See all groups.')));
      } else {
        notice.show(error);
      }
    }
  }

  /** Show the buttons the status allows; the focus on one that goes moves to the heading. */
  function setActions(status: GroupStatus | undefined): void {
    for (const [button, from] of actions) {
      const allowed = status !== undefined && from.includes(status);
      if (button.hidden !== allowed) continue;
      if (!allowed && document.activeElement === button) title.focus();
      button.hidden = !allowed;
    }
  }

  function show(next: PromotionGroup): void {
    // An answer older than what is drawn (a 412's group after a newer read) is not drawn.
    if (group && next.version < group.version) return;
    group = next;
    missing = false;
    watchStatuses([next]);
    setActions(next.status);
    redraw(details, ...groupDetails(next));
  }

  const poll = startPoll(refresh);
  return { title: `Group ${id}`, element, heading: title, stop: () => poll.stop() };
}

/** What every confirmation says about a group that moves meanwhile. */
function ifItChanges(action: string): string {
  return `If it changes before you confirm, the API refuses the ${action} and this page shows the group as it is then.`;
}

function actionButton(label: string, testId: string, tone?: 'danger'): HTMLButtonElement {
  return h('button', { type: 'button', class: tone, 'data-testid': testId, hidden: true }, label);
}

function groupDetails(group: PromotionGroup): HTMLElement[] {
  const facts: [string, Child | Child[]][] = [
    ['Status', [statusBadge(group.status, { 'data-testid': 'group-status' }), holdNote(group) ? ` ${holdNote(group)}` : '']],
    ['Repository', h('code', null, group.repository)],
    ['Target branch', h('code', null, group.targetBranch)],
    ['Scheduled at', h('span', { 'data-testid': 'scheduled-at' }, timeElement(group.scheduledAt))],
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
