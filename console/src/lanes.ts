/**
 * The lanes view (`#/lanes`): a table of every lane the API knows (up to five pages of 100), with
 * its holder, how many wait, whether it is paused (by whom, why) and its policies in force. Each
 * lane links to its page, where it is paused and resumed. Read again every second.
 */
import { isAbort, listAllLanes } from './api.ts';
import type { Lane } from '../../client/types.ts';
import { h, redraw } from './dom.ts';
import { startPoll } from './poll.ts';
import { links } from './router.ts';
import { heading, loadNotice, type View } from './view.ts';

/** The lanes view. */
export function lanesView(): View {
  const title = heading('Lanes');
  const notice = loadNotice();
  const body = h('tbody', null, h('tr', null, h('td', { colspan: 7 }, 'Loading…')));
  const table = h(
    'table',
    { class: 'lanes', 'data-testid': 'lanes-table' },
    h('caption', { class: 'visually-hidden' }, 'Lanes, by repository then target branch'),
    h('thead', null, h('tr', null, ['Repository', 'Target branch', 'Holder', 'Waiting', 'State', 'Overlap policy', 'On failure'].map((c) => h('th', { scope: 'col' }, c)))),
    body,
  );
  const pageNote = h('p', { class: 'page-note', 'data-testid': 'page-note' });
  const element = h('section', { class: 'view lanes' }, title, notice.element, h('div', { class: 'table-scroll' }, table), pageNote);

  let drawn = false;

  async function refresh(signal: AbortSignal): Promise<void> {
    try {
      const answer = await listAllLanes(signal);
      notice.clear();
      if (!answer.changed && drawn) return;
      drawn = true;
      redraw(
        body,
        answer.body.length
          ? answer.body.map(row)
          : h('tr', null, h('td', { colspan: 7, class: 'wrap' }, 'No lanes yet: a lane is listed once a group has held it or waited for it, or it was paused or configured.')),
      );
      pageNote.textContent = `${answer.body.length} lane${answer.body.length === 1 ? '' : 's'}${answer.complete ? '.' : ', the first five pages only: there are more.'}`;
    } catch (error) {
      // A failed read may have remembered some pages: the next one that works draws.
      drawn = false;
      if (!isAbort(error)) notice.show(error);
    }
  }

  const poll = startPoll(refresh);
  return { title: 'Lanes', element, heading: title, stop: () => poll.stop() };
}

function row(lane: Lane): HTMLTableRowElement {
  const key = `${lane.repository}:${lane.targetBranch}`;
  return h(
    'tr',
    { 'data-lane': key, 'data-state': lane.paused ? 'paused' : 'running' },
    // The link's name starts with what it shows, and says the branch too: one repository has several lanes.
    h('td', { class: 'wrap' }, h('a', { href: links.lane(lane.repository, lane.targetBranch), 'aria-label': `${lane.repository} → ${lane.targetBranch}`, 'data-key': `lane:${key}` }, lane.repository)),
    h('td', null, lane.targetBranch),
    h('td', null, lane.holder ? h('a', { href: links.group(lane.holder.groupId), 'data-key': `holder:${key}` }, lane.holder.groupId) : '—'),
    h('td', null, String(lane.waitingCount)),
    h('td', { class: 'wrap' }, lane.paused ? [h('span', { class: 'badge paused' }, 'Paused'), ` by ${lane.paused.by}: ${lane.paused.reason}`] : 'running'),
    h('td', null, lane.overlapPolicy),
    h('td', null, lane.onFailure),
  );
}
