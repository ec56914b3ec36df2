/**
 * The lane view (`#/lanes/<repository>/<targetBranch>`): who holds the lane, the groups waiting
 * in the order they start, whether it is paused (by whom, when, why) and its policies; and the
 * Pause and Resume actions, each confirmed in a dialog. A refusal is shown in words (the problem
 * document) and the lane is read again.
 *
 * One conditional read a second; the dialogs and the action bar sit outside the redrawn part, so
 * a refresh never closes a dialog or moves the focus.
 */
import { ApiError, getLane, isAbort, pauseLane, resumeLane } from './api.ts';
import type { LaneDetail, PromotionGroup } from '../../client/types.ts';
import { announce, watchStatuses } from './announce.ts';
import { h, redraw, uniqueId, type Child } from './dom.ts';
import { confirmDialog } from './dialog.ts';
import { problemLines, timeElement } from './format.ts';
import { startPoll } from './poll.ts';
import { links } from './router.ts';
import { statusBadge } from './status.ts';
import { heading, loadNotice, type View } from './view.ts';

/** The lane view for one repository and target branch. */
export function laneView(repository: string, targetBranch: string): View {
  const name = `${repository} → ${targetBranch}`;
  const title = heading(`Lane ${name}`);
  const notice = loadNotice();
  const problem = h('div', { class: 'problem', role: 'alert', 'data-testid': 'problem' });
  const pause = h('button', { type: 'button', class: 'danger', 'data-testid': 'pause-lane', hidden: true }, 'Pause lane');
  const resume = h('button', { type: 'button', 'data-testid': 'resume-lane', hidden: true }, 'Resume lane');
  const details = h('div', { class: 'details', 'data-testid': 'lane-details' }, h('p', null, 'Loading…'));
  const pauseDialog = confirmDialog({
    testId: 'pause-dialog',
    question: `Pause lane ${name}?`,
    explanation: 'A paused lane starts nothing: a running holder finishes, and groups that come due wait until it is resumed.',
    confirm: 'Confirm pause',
    destructive: true,
    reason: 'required',
  });
  const resumeDialog = confirmDialog({
    testId: 'resume-dialog',
    question: `Resume lane ${name}?`,
    explanation: 'If nothing holds the lane, its first waiting group is handed the lane at once.',
    confirm: 'Confirm resume',
    reason: 'none',
  });

  const element = h(
    'section',
    { class: 'view lane' },
    h('div', { class: 'title-line' }, title, h('a', { href: links.lanes }, 'All lanes')),
    h('div', { class: 'buttons actions' }, pause, resume),
    problem,
    notice.element,
    details,
    pauseDialog.element,
    resumeDialog.element,
  );

  let lane: LaneDetail | undefined;
  /** The lane could not be named (a `400`), and that is shown. */
  let refusedRead = false;

  pause.addEventListener('click', () => pauseDialog.open());
  resume.addEventListener('click', () => resumeDialog.open());
  pauseDialog.onConfirm((reason) => act(() => pauseLane(repository, targetBranch, reason), 'The pause did not complete', 'paused'));
  resumeDialog.onConfirm(() => act(() => resumeLane(repository, targetBranch), 'The resume did not complete', 'resumed'));

  /** Send an action, show a refusal, read the lane again; answers where the focus goes. */
  async function act(send: () => Promise<unknown>, failed: string, done: string): Promise<HTMLElement> {
    problem.replaceChildren();
    try {
      await send();
      announce(`Lane ${name} ${done}.`);
    } catch (error) {
      const shown = error instanceof ApiError ? error.problem : { title: failed, status: 0, detail: String(error) };
      problem.replaceChildren(...problemLines(shown));
    }
    await reload();
    if (!pause.hidden) return pause;
    return resume.hidden ? title : resume;
  }

  async function reload(signal?: AbortSignal): Promise<void> {
    try {
      const answer = await getLane(repository, targetBranch, signal);
      notice.clear();
      // A read sent before an action may answer after it: an older version is not drawn.
      if (lane && answer.body.version < lane.version) return;
      if (answer.changed || refusedRead || lane?.version !== answer.body.version) show(answer.body);
    } catch (error) {
      if (isAbort(error)) return;
      if (error instanceof ApiError && error.problem.status === 400) {
        notice.clear();
        if (refusedRead) return;
        refusedRead = true;
        lane = undefined;
        setActions(undefined);
        redraw(details, h('div', { 'data-testid': 'not-found' }, problemLines(error.problem), h('p', null, h('a', { href: links.lanes }, 'See all lanes.'))));
      } else {
        notice.show(error);
      }
    }
  }

  function setActions(next: LaneDetail | undefined): void {
    const canPause = next !== undefined && next.paused === null;
    const canResume = next !== undefined && next.paused !== null;
    if ((!canPause && document.activeElement === pause) || (!canResume && document.activeElement === resume)) title.focus();
    pause.hidden = !canPause;
    resume.hidden = !canResume;
  }

  function show(next: LaneDetail): void {
    lane = next;
    refusedRead = false;
    watchStatuses([...(next.holderGroup ? [next.holderGroup] : []), ...next.waitingGroups]);
    setActions(next);
    redraw(details, ...laneDetails(next));
  }

  const poll = startPoll((signal) => reload(signal));
  return { title: `Lane ${name}`, element, heading: title, stop: () => poll.stop() };
}

function laneDetails(lane: LaneDetail): HTMLElement[] {
  const facts: [string, Child | Child[]][] = [
    ['State', h('span', { 'data-testid': 'lane-state' }, lane.paused ? 'Paused' : 'Running')],
    ['Repository', h('code', null, lane.repository)],
    ['Target branch', h('code', null, lane.targetBranch)],
  ];
  if (lane.paused) {
    facts.push(
      ['Paused by', h('span', { 'data-testid': 'paused-by' }, lane.paused.by)],
      ['Paused at', timeElement(lane.paused.at)],
      ['Reason', h('span', { 'data-testid': 'pause-reason' }, lane.paused.reason)],
    );
  }
  facts.push(
    ['Overlap policy', [h('span', { 'data-testid': 'overlap-policy' }, lane.overlapPolicy), lane.own.overlapPolicy ? ' (the lane’s own)' : ' (the stack’s)']],
    ['On failure', [h('span', { 'data-testid': 'on-failure' }, lane.onFailure), lane.own.onFailure ? ' (the lane’s own)' : ' (the stack’s)']],
    ['Version', h('span', { 'data-testid': 'lane-version' }, String(lane.version))],
    ['Updated at', timeElement(lane.updatedAt)],
  );

  const byId = new Map(lane.waitingGroups.map((group) => [group.id, group]));
  return [
    h('dl', { class: 'facts' }, facts.map(([term, value]) => [h('dt', null, term), h('dd', null, value)]).flat()),
    section('Holder', holder(lane), 'holder'),
    section(
      `Waiting (${lane.waitingCount})`,
      lane.waiting.length
        ? h(
            'ol',
            { class: 'waiting', 'data-testid': 'waiting-groups' },
            lane.waiting.map((waiter) =>
              h(
                'li',
                { 'data-group-id': waiter.groupId },
                groupLink(waiter.groupId),
                ' ',
                groupStatus(byId.get(waiter.groupId)),
                ' scheduled at ',
                timeElement(waiter.scheduledAt),
                ', waiting since ',
                timeElement(waiter.since),
              ),
            ),
          )
        : h('p', { 'data-testid': 'waiting-groups' }, 'No group waits.'),
      'waiting',
    ),
  ];
}

function holder(lane: LaneDetail): Child[] {
  if (!lane.holder) return [h('p', null, 'Nothing holds the lane.')];
  return [h('p', { 'data-group-id': lane.holder.groupId }, groupLink(lane.holder.groupId), ' ', groupStatus(lane.holderGroup ?? undefined), ' holds it since ', timeElement(lane.holder.since), '.')];
}

function groupLink(id: string): HTMLElement {
  return h('a', { href: links.group(id), 'data-key': `group:${id}` }, id);
}

function groupStatus(group: PromotionGroup | undefined): Child {
  return group ? statusBadge(group.status) : null;
}

function section(name: string, content: Child | Child[], testId: string): HTMLElement {
  const id = uniqueId('section');
  return h('section', { 'aria-labelledby': id, 'data-testid': testId }, h('h2', { id }, name), content);
}
