/**
 * The groups view (`#/groups`): a table of groups, filtered by status, by lane and by due window
 * (`dueAfter ≤ scheduledAt < dueBefore`, times as the schedule form takes them), a page at a time
 * (the API's opaque `nextCursor`). The page in view is read again every second. The filters
 * applied are kept in the location (`#/groups?status=Scheduled&dueAfter=…`, relative times
 * resolved), so a reload, the back button or a shared link shows the same groups.
 */
import { ApiError, isAbort, listGroups, type GroupQuery } from './api.ts';
import type { GroupPage, GroupStatus, PromotionGroup } from '../../client/types.ts';
import { watchStatuses } from './announce.ts';
import { h, isUsable, redraw, setUsable, uniqueId } from './dom.ts';
import { localTime, problemLines, timeElement } from './format.ts';
import { resolveTime } from './input.ts';
import { startPoll, type Poll } from './poll.ts';
import { links, type GroupFilters } from './router.ts';
import { STATUSES, holdNote, statusBadge } from './status.ts';
import { heading, loadNotice, type View } from './view.ts';

const PAGE_SIZE = 50;

/** The groups view, with the filters its location keeps (applied at once). */
export function groupsView(initial: GroupFilters = {}): View {
  const title = heading('Groups');
  const notice = loadNotice();

  const statusId = uniqueId('status');
  const status = h('select', { id: statusId, name: 'status' }, h('option', { value: '' }, 'Any status'), STATUSES.map((s) => h('option', { value: s }, s)));
  const repositoryId = uniqueId('repository');
  const repository = h('input', { id: repositoryId, name: 'repository', type: 'text', autocomplete: 'off', spellcheck: 'false' });
  const targetId = uniqueId('target');
  const target = h('input', { id: targetId, name: 'targetBranch', type: 'text', autocomplete: 'off', spellcheck: 'false' });
  const dueAfterId = uniqueId('due-after');
  const dueAfter = h('input', { id: dueAfterId, name: 'dueAfter', type: 'text', autocomplete: 'off', spellcheck: 'false', placeholder: 'now', size: 24 });
  const dueBeforeId = uniqueId('due-before');
  const dueBefore = h('input', { id: dueBeforeId, name: 'dueBefore', type: 'text', autocomplete: 'off', spellcheck: 'false', placeholder: '+1h', size: 24 });
  const dueHint = h(
    'p',
    { class: 'hint', id: uniqueId('due-hint') },
    'Due after ≤ scheduled at < due before; either may be empty. ISO-8601 with a zone offset, now, or relative (+5m, +1h30m: counted from when the filters are applied); a time without an offset is refused. Groups without a time are left out.',
  );
  dueAfter.setAttribute('aria-describedby', dueHint.id);
  dueBefore.setAttribute('aria-describedby', dueHint.id);
  const filterProblem = h('div', { class: 'problem', role: 'alert', 'data-testid': 'filter-problem' });
  const filters = h(
    'form',
    { class: 'filters', 'aria-label': 'Filters' },
    h('div', { class: 'field' }, h('label', { for: statusId }, 'Status'), status),
    h('div', { class: 'field' }, h('label', { for: repositoryId }, 'Repository'), repository),
    h('div', { class: 'field' }, h('label', { for: targetId }, 'Target branch'), target),
    h('div', { class: 'field' }, h('label', { for: dueAfterId }, 'Due after'), dueAfter),
    h('div', { class: 'field' }, h('label', { for: dueBeforeId }, 'Due before'), dueBefore),
    h('button', { type: 'submit' }, 'Apply filters'),
    dueHint,
    filterProblem,
  );

  const body = h('tbody');
  const table = h(
    'table',
    { class: 'groups', 'data-testid': 'groups-table' },
    h('caption', { class: 'visually-hidden' }, 'Groups, in the API’s order: by status, then by time'),
    h('thead', null, h('tr', null, ['ID', 'Status', 'Repository', 'Target', 'Scheduled at', 'Outcome reason'].map((c) => h('th', { scope: 'col' }, c)))),
    body,
  );
  const pageNote = h('p', { class: 'page-note', 'data-testid': 'page-note' });
  const previous = h('button', { type: 'button' }, 'Previous page');
  const next = h('button', { type: 'button' }, 'Next page');

  const element = h(
    'section',
    { class: 'view groups' },
    h('div', { class: 'title-line' }, title, h('a', { class: 'button-link', href: links.schedule }, 'Schedule a group')),
    filters,
    notice.element,
    h('div', { class: 'table-scroll' }, table),
    pageNote,
    h('div', { class: 'buttons', role: 'group', 'aria-label': 'Pages' }, previous, next),
  );

  /** The cursors of the pages before this one, and this one's (undefined: the first page). */
  const cursors: (string | undefined)[] = [undefined];
  let query: GroupQuery = { limit: PAGE_SIZE };
  /** The last query the API answered: what the table shows while a refused one is said beside the filters. */
  let accepted: GroupQuery = query;
  let page: GroupPage | undefined;
  let drawn = false;
  /** Started once the location's filters are in force (so its first read is already filtered). */
  let poll: Poll | undefined;

  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    applyFilters();
  });
  status.addEventListener('change', () => applyFilters());

  /** Say why the filters were not applied (the last query stays in force); `''`: clear. */
  function refuseFilters(text: string, control?: HTMLInputElement): void {
    for (const c of [repository, target, dueAfter, dueBefore]) c.removeAttribute('aria-invalid');
    if (!text) {
      filterProblem.replaceChildren();
      return;
    }
    filterProblem.replaceChildren(h('strong', null, 'Filters not applied'), h('p', null, text));
    control?.setAttribute('aria-invalid', 'true');
    control?.focus();
  }

  function applyFilters(): void {
    const repo = repository.value.trim();
    const branch = target.value.trim();
    if (Boolean(repo) !== Boolean(branch)) return refuseFilters('Give both a repository and a target branch to see one lane, or neither.', repo ? target : repository);
    // Relative times are resolved once, here: the window then stays put while the page refreshes.
    const now = Date.now();
    const window: { dueAfter?: string; dueBefore?: string } = {};
    for (const [name, control] of [['dueAfter', dueAfter], ['dueBefore', dueBefore]] as const) {
      if (!control.value.trim()) continue;
      const at = resolveTime(control.value, now);
      if ('refused' in at) return refuseFilters(at.refused, control);
      window[name] = at.at;
    }
    if (window.dueAfter && window.dueBefore && Date.parse(window.dueAfter) >= Date.parse(window.dueBefore)) {
      return refuseFilters(`Due before (${localTime(window.dueBefore)}) must be later than due after (${localTime(window.dueAfter)}).`, dueBefore);
    }
    refuseFilters('');
    query = {
      limit: PAGE_SIZE,
      ...(status.value ? { status: status.value as GroupStatus } : {}),
      ...(repo ? { repository: repo, targetBranch: branch } : {}),
      ...window,
    };
    cursors.splice(0, cursors.length, undefined);
    drawn = false;
    poll?.refresh();
  }

  previous.addEventListener('click', () => {
    if (!isUsable(previous) || cursors.length < 2) return;
    cursors.pop();
    drawn = false;
    poll?.refresh();
  });
  next.addEventListener('click', () => {
    if (!isUsable(next) || !page?.nextCursor) return;
    cursors.push(page.nextCursor);
    drawn = false;
    poll?.refresh();
  });

  /** The filters of a query as the location keeps them (`limit` and `cursor` are the view's). */
  function keep(asked: GroupQuery): void {
    const { status: s, repository: r, targetBranch: t, dueAfter: a, dueBefore: b } = asked;
    const here = links.groupsWith({ ...(s ? { status: s } : {}), ...(r ? { repository: r } : {}), ...(t ? { targetBranch: t } : {}), ...(a ? { dueAfter: a } : {}), ...(b ? { dueBefore: b } : {}) });
    // Without a navigation (no hashchange: the view stays as it is).
    if (location.hash !== here) history.replaceState(null, '', here);
  }

  async function refresh(signal: AbortSignal): Promise<void> {
    const cursor = cursors.at(-1);
    // The query this read asks: an answer to another (filters applied meanwhile) is not this view's.
    const asked = query;
    try {
      const answer = await listGroups({ ...asked, ...(cursor === undefined ? {} : { cursor }) }, signal);
      if (asked !== query) return;
      notice.clear();
      // Only filters the API answered are kept in the location.
      if (accepted !== asked) keep(asked);
      accepted = asked;
      page = answer.body;
      watchStatuses(page.items);
      if (answer.changed || !drawn) draw(page);
    } catch (error) {
      if (isAbort(error) || asked !== query) return;
      if (error instanceof ApiError && error.problem.status === 400 && asked !== accepted) {
        // The API refused the filters: said in words beside them (until the next Apply), and the
        // table goes on showing the last query it answered, its page from the start.
        notice.clear();
        refuseFilters('');
        filterProblem.replaceChildren(h('strong', null, 'Filters not applied: the table shows the previous ones'), ...problemLines(error.problem));
        query = accepted;
        cursors.splice(0, cursors.length, undefined);
        drawn = false;
        poll?.refresh();
        return;
      }
      notice.show(error);
    }
  }

  function draw(shown: GroupPage): void {
    drawn = true;
    redraw(body, shown.items.length ? shown.items.map(row) : h('tr', null, h('td', { colspan: 6 }, 'No groups on this page.')));
    const number = cursors.length;
    pageNote.textContent =
      shown.items.length === 0 && shown.nextCursor !== null
        ? `Page ${number}: empty, but the next page may hold more.`
        : `Page ${number}: ${shown.items.length} group${shown.items.length === 1 ? '' : 's'}${shown.nextCursor === null ? ', the last page' : ''}.`;
    setUsable(previous, number > 1);
    setUsable(next, shown.nextCursor !== null);
  }

  // The location's filters, as if typed and applied (a refusal is said as for typed ones).
  if (initial.status && (STATUSES as readonly string[]).includes(initial.status)) status.value = initial.status;
  repository.value = initial.repository ?? '';
  target.value = initial.targetBranch ?? '';
  dueAfter.value = initial.dueAfter ?? '';
  dueBefore.value = initial.dueBefore ?? '';
  if (Object.keys(initial).length > 0) applyFilters();
  if (initial.status && status.value !== initial.status) {
    // Said, not dropped silently: the link asked for a status there is not.
    // Beside any other filter's refusal, not over it.
    filterProblem.append(h('strong', null, 'Status not applied'), h('p', null, `The link's status '${initial.status}' is none of ${STATUSES.join(', ')}: the table shows any status.`));
  }
  poll = startPoll(refresh);
  return { title: 'Groups', element, heading: title, stop: () => poll?.stop() };
}

function row(group: PromotionGroup): HTMLTableRowElement {
  const reason = group.outcome && 'reason' in group.outcome ? group.outcome.reason : holdNote(group);
  return h(
    'tr',
    { 'data-group-id': group.id, 'data-status': group.status },
    h('td', null, h('a', { href: links.group(group.id), 'data-key': `row:${group.id}` }, group.id)),
    h('td', null, statusBadge(group.status)),
    h('td', { class: 'wrap' }, group.repository),
    h('td', null, group.targetBranch),
    h('td', null, timeElement(group.scheduledAt)),
    h('td', { class: 'wrap' }, reason ?? '—'),
  );
}
