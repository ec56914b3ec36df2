/**
 * The timeline view (`#/timeline`): one row per lane (repository, target branch) of the groups
 * in the window, from an hour ago to six hours ahead by default. A group is a mark at its
 * `scheduledAt`, or a bar from `startedAt` to `finishedAt` (to now while it runs), coloured by
 * status and labelled with it; freeze windows are shaded bands on the rows they cover; "now" is
 * a vertical line. Positioned DOM, in per cent of the track, so every mark is a plain link; a
 * row's label links to its lane's page.
 *
 * One refresh a second lists the window's groups (conditional, so an unchanged answer redraws
 * nothing); freezes and lanes change rarely and are read every five seconds.
 */
import { isAbort, listAllGroups, listFreezes, listLanes } from './api.ts';
import type { FreezeView, Lane, PromotionGroup } from '../../client/types.ts';
import { watchStatuses } from './announce.ts';
import { h, isUsable, redraw, setUsable, uniqueId } from './dom.ts';
import { ZONE, freezeScope, localClock, localDay, localTime, utcTime } from './format.ts';
import { startPoll } from './poll.ts';
import { links } from './router.ts';
import { STATUSES, holdNote, statusBadge } from './status.ts';
import { heading, loadNotice, type View } from './view.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** The zoom levels (window lengths); the default is 7 h: one behind, six ahead. */
const SPANS = [1, 2, 4, 7, 12, 24, 48].map((hours) => hours * HOUR);
const DEFAULT_SPAN = 3;
/** How far before the window a bar may start (a run, or a long wait for its lane): listed too. */
const LOOK_BEHIND = 6 * HOUR;
/** The window's groups are listed in pages of 100, at most this many pages a refresh. */
const LIST_LIMIT = 100;
const LIST_PAGES = 5;
/** Freezes and lanes are read this often, not every second. */
const SIDE_READ_MS = 5_000;
/** One track (line of marks) within a row, in px; rows grow a track when marks would overlap. */
const TRACK_PX = 26;
/** An estimate of a label's width per character (0.75rem system font), for the packing. */
const CHAR_PX = 7;
/** The lane label column (app.css `--label-w`, 14rem), px: the track's width before the first draw. */
const LABEL_PX = 224;
/** Minimum distance between axis ticks, px. */
const TICK_PX = 90;
const TICK_MINUTES = [5, 10, 15, 30, 60, 120, 180, 360, 720, 1440];

/** The window, kept across visits: its length and where it starts relative to now. */
const zoom = { span: DEFAULT_SPAN, offset: -HOUR };

interface Window {
  start: number;
  end: number;
  span: number;
}

/** The window at `now`: anchored to the minute, so it (and the list's URL) moves once a minute. */
function windowAt(now: number): Window {
  const span = SPANS[zoom.span] ?? SPANS[DEFAULT_SPAN]!;
  const start = Math.floor(now / MINUTE) * MINUTE + zoom.offset;
  return { start, end: start + span, span };
}

const roundToMinute = (ms: number): number => Math.round(ms / MINUTE) * MINUTE;
const laneKey = (repository: string, targetBranch: string): string => `${repository}:${targetBranch}`;

/** The timeline view. */
export function timelineView(): View {
  const title = heading('Timeline');
  const windowLine = h('p', { class: 'tl-window', 'data-testid': 'timeline-window' });
  const zoomIn = button('Zoom in', () => zoomTo(zoom.span - 1));
  const zoomOut = button('Zoom out', () => zoomTo(zoom.span + 1));
  const earlier = button('Earlier', () => panBy(-0.5));
  const later = button('Later', () => panBy(0.5));
  const backToNow = button('Back to now', () => {
    zoom.offset = roundToMinute(-(SPANS[zoom.span] ?? 0) / 7);
    redrawNow();
  });
  const notice = loadNotice();
  const grid = h('div', { class: 'tl', 'data-testid': 'timeline' });
  const below = h('p', { class: 'tl-empty', 'data-testid': 'timeline-note' });
  const freezeList = h('ul', { class: 'freeze-list', 'data-testid': 'freeze-list' });
  const freezeHeading = h('h2', { id: uniqueId('freezes') }, 'Freeze windows in view');

  const element = h(
    'section',
    { class: 'view timeline' },
    title,
    h('div', { class: 'toolbar' }, h('div', { class: 'buttons', role: 'group', 'aria-label': 'Zoom and pan' }, zoomIn, zoomOut, earlier, later, backToNow), windowLine),
    notice.element,
    grid,
    below,
    h('section', { 'aria-labelledby': freezeHeading.id }, freezeHeading, freezeList, h('p', null, h('a', { href: links.freezes }, 'All freeze windows (add, remove)'))),
    h('section', { 'aria-label': 'Status colours' }, h('ul', { class: 'legend' }, STATUSES.map((s) => h('li', null, statusBadge(s))))),
  );

  let groups: PromotionGroup[] = [];
  let freezes: FreezeView[] = [];
  let lanes = new Map<string, Lane>();
  let complete = true;
  let sideReadAt = -Infinity;
  /** A refresh failed after an answer was read: the next one draws whatever it reads. */
  let missed = false;
  let drawnKey = '';
  let drawn: Window | undefined;
  let running: { link: HTMLElement; from: number }[] = [];
  let nowLine: HTMLElement | undefined;

  /** Zoom about "now" while it is in view (it stays where it is on screen), else about the centre. */
  function zoomTo(index: number): void {
    if (index < 0 || index >= SPANS.length) return;
    const before = SPANS[zoom.span]!;
    const after = SPANS[index]!;
    const nowAt = -zoom.offset / before;
    const anchor = nowAt >= 0 && nowAt <= 1 ? nowAt : 0.5;
    zoom.span = index;
    zoom.offset = roundToMinute(zoom.offset + anchor * (before - after));
    redrawNow();
  }

  function panBy(fraction: number): void {
    zoom.offset = roundToMinute(zoom.offset + (SPANS[zoom.span] ?? 0) * fraction);
    redrawNow();
  }

  /** After a zoom or pan: draw what is known at once, and list the new window. */
  function redrawNow(): void {
    draw(windowAt(Date.now()));
    poll.refresh();
  }

  async function refresh(signal: AbortSignal): Promise<void> {
    const now = Date.now();
    const win = windowAt(now);
    let changed = false;
    try {
      const readSide = now - sideReadAt >= SIDE_READ_MS;
      // Freezes and lanes are extras: one that cannot be read costs the groups nothing.
      let sideError: unknown;
      const side = <T>(read: Promise<T>): Promise<T | undefined> =>
        read.catch((error: unknown) => {
          if (isAbort(error)) throw error;
          sideError = error;
          return undefined;
        });
      const [list, freezeAnswer, laneAnswer] = await Promise.all([
        listAllGroups({ dueAfter: new Date(win.start - LOOK_BEHIND).toISOString(), dueBefore: new Date(win.end).toISOString(), limit: LIST_LIMIT }, signal, LIST_PAGES),
        readSide ? side(listFreezes(signal)) : undefined,
        readSide ? side(listLanes(signal)) : undefined,
      ]);
      if (readSide && sideError === undefined) sideReadAt = now;
      changed = missed || list.changed || Boolean(freezeAnswer?.changed) || Boolean(laneAnswer?.changed) || list.complete !== complete;
      missed = false;
      groups = list.body;
      complete = list.complete;
      if (freezeAnswer) freezes = freezeAnswer.body.items;
      if (laneAnswer) lanes = new Map(laneAnswer.body.items.map((lane) => [laneKey(lane.repository, lane.targetBranch), lane]));
      if (sideError === undefined) notice.clear();
      else notice.show(sideError);
    } catch (error) {
      if (isAbort(error)) return;
      // An answer this refresh read may be remembered already: the next success must draw.
      missed = true;
      notice.show(error);
    }
    watchStatuses(groups);
    if (changed || keyOf(win) !== drawnKey) draw(win);
    else moveNow(now);
  }

  const keyOf = (win: Window): string => `${win.start}/${win.span}/${trackWidth()}`;

  function trackWidth(): number {
    const track = grid.querySelector<HTMLElement>('.tl-track');
    return track?.clientWidth || Math.max(grid.clientWidth - LABEL_PX, 400);
  }

  function draw(win: Window): void {
    const width = trackWidth();
    drawn = win;
    drawnKey = keyOf(win);
    running = [];
    setUsable(zoomIn, zoom.span > 0);
    setUsable(zoomOut, zoom.span < SPANS.length - 1);
    windowLine.replaceChildren(
      h('span', { title: `${utcTime(win.start)} – ${utcTime(win.end)}` }, `${localTime(win.start)} – ${localTime(win.end)}`),
      ` (${ZONE})`,
    );

    const shown = occurrencesIn(freezes, win);
    const byLane = new Map<string, PromotionGroup[]>();
    for (const group of groups) {
      const key = laneKey(group.repository, group.targetBranch);
      byLane.set(key, [...(byLane.get(key) ?? []), group]);
    }
    const rows = [...byLane.values()]
      .map((members) => ({ repository: members[0]!.repository, targetBranch: members[0]!.targetBranch, members }))
      .sort((a, b) => a.repository.localeCompare(b.repository) || a.targetBranch.localeCompare(b.targetBranch))
      .map((lane) => laneRow(lane.repository, lane.targetBranch, lane.members, shown, win, width))
      .filter((row) => row !== undefined);

    nowLine = h('div', { class: 'tl-now', 'aria-hidden': 'true', 'data-testid': 'now-line', title: 'now' });
    redraw(grid, nowLine, axisRow(win, width), freezeRow(shown, win), rows);
    moveNow(Date.now());

    const notes = [];
    if (rows.length === 0) notes.push('No group is scheduled, running or finished in this window.');
    if (!complete) notes.push(`More than ${LIST_LIMIT * LIST_PAGES} groups fall in this window and only that many are shown: zoom in to see them all.`);
    below.textContent = notes.join(' ');

    redraw(
      freezeList,
      shown.length === 0
        ? h('li', null, 'None.')
        : shown.map(({ view, from, until }) =>
            h(
              'li',
              { 'data-freeze-id': view.freeze.id },
              h('strong', null, view.freeze.reason),
              ` — ${freezeScope(view.freeze)}, `,
              h('time', { datetime: new Date(from).toISOString(), title: utcTime(from) }, localTime(from)),
              ' – ',
              h('time', { datetime: new Date(until).toISOString(), title: utcTime(until) }, localTime(until)),
              view.next?.active ? ' (in force now)' : '',
            ),
          ),
    );
  }

  /** Between draws: move the now line and stretch the running bars. */
  function moveNow(now: number): void {
    if (!drawn || !nowLine) return;
    const at = (now - drawn.start) / drawn.span;
    nowLine.hidden = at < 0 || at > 1;
    nowLine.style.setProperty('--at', String(at));
    for (const { link, from } of running) link.style.width = percent((Math.min(now, drawn.end) - Math.max(from, drawn.start)) / drawn.span);
  }

  function laneRow(repository: string, targetBranch: string, members: PromotionGroup[], shown: Shown[], win: Window, width: number): HTMLElement | undefined {
    const now = Date.now();
    const placed = members.map((group) => placement(group, now)).filter((p): p is Placement => p !== undefined && visible(p, win));
    if (placed.length === 0) return undefined;
    placed.sort((a, b) => a.from - b.from);

    const track = h('div', { class: 'tl-track' });
    for (const { view, from, until } of shown.filter((s) => covers(s.view, repository, targetBranch))) {
      track.append(band(view, from, until, win, { 'aria-hidden': 'true' }));
    }
    const lineEnds: number[] = [];
    for (const item of placed) {
      const text = markText(item.group);
      const startPx = ((Math.max(item.from, win.start) - win.start) / win.span) * width;
      const barPx = item.until === undefined ? 0 : ((Math.min(item.until, win.end) - Math.max(item.from, win.start)) / win.span) * width;
      // A bar's label follows its end; a mark's follows its pin.
      const endPx = startPx + barPx + text.length * CHAR_PX + 18;
      let line = lineEnds.findIndex((end) => end + 4 <= startPx);
      if (line === -1) line = lineEnds.push(endPx) - 1;
      else lineEnds[line] = endPx;
      const link = mark(item, text, win);
      link.style.top = `${line * TRACK_PX + 4}px`;
      if (item.group.status === 'Running') running.push({ link, from: item.from });
      track.append(link);
    }
    track.style.height = `${Math.max(lineEnds.length, 1) * TRACK_PX + 8}px`;

    const lane = lanes.get(laneKey(repository, targetBranch));
    return h(
      'div',
      { class: 'tl-row', role: 'group', 'aria-label': `lane ${repository} → ${targetBranch}`, 'data-lane': laneKey(repository, targetBranch) },
      h(
        'div',
        { class: 'tl-label' },
        h(
          'a',
          { class: 'tl-lane', href: links.lane(repository, targetBranch), 'data-key': `lane:${laneKey(repository, targetBranch)}` },
          h('span', { class: 'tl-repo', title: repository }, repository),
          h('span', { class: 'tl-branch' }, `→ ${targetBranch}`),
        ),
        lane?.paused ? h('span', { class: 'badge paused', title: `paused by ${lane.paused.by}: ${lane.paused.reason}` }, 'paused') : null,
      ),
      track,
    );
  }

  const resize = new ResizeObserver(() => {
    if (drawn && keyOf(drawn) !== drawnKey) draw(windowAt(Date.now()));
  });
  resize.observe(grid);
  const poll = startPoll(refresh);

  return {
    title: 'Timeline',
    element,
    heading: title,
    stop() {
      poll.stop();
      resize.disconnect();
    },
  };
}

/** Where a group goes: a bar once it started, else a mark at its time; none while it has no time. */
interface Placement {
  group: PromotionGroup;
  from: number;
  /** A bar's end (now while it runs); absent for a mark. */
  until?: number;
}

function placement(group: PromotionGroup, now: number): Placement | undefined {
  if (group.startedAt) return { group, from: Date.parse(group.startedAt), until: group.finishedAt ? Date.parse(group.finishedAt) : now };
  if (group.scheduledAt) return { group, from: Date.parse(group.scheduledAt) };
  return undefined;
}

function visible(p: Placement, win: Window): boolean {
  return p.until === undefined ? p.from >= win.start && p.from <= win.end : p.from < win.end && p.until >= win.start;
}

function markText(group: PromotionGroup): string {
  const note = group.status !== 'Scheduled' ? '' : group.frozen ? ' · frozen' : group.waiting ? ' · waiting' : '';
  return `${group.id} · ${group.status}${note}`;
}

/** A group's link on the timeline: its status in words to a screen reader, its times on hover. */
function mark(item: Placement, text: string, win: Window): HTMLAnchorElement {
  const { group } = item;
  const at = group.scheduledAt ? `at ${localTime(group.scheduledAt)}` : 'not scheduled';
  const words = [`group ${group.id}`, group.status, at];
  const lines = [`${group.id} — ${group.status}`, group.scheduledAt ? `scheduled ${localTime(group.scheduledAt)} (${utcTime(group.scheduledAt)})` : 'not scheduled'];
  if (group.startedAt) {
    words.push(`started ${localTime(group.startedAt)}`);
    lines.push(`started ${localTime(group.startedAt)} (${utcTime(group.startedAt)})`);
  }
  if (group.finishedAt) {
    words.push(`finished ${localTime(group.finishedAt)}`);
    lines.push(`finished ${localTime(group.finishedAt)} (${utcTime(group.finishedAt)})`);
  }
  const note = holdNote(group);
  if (note) {
    words.push(note);
    lines.push(note);
  }
  const bar = item.until !== undefined;
  const link = h(
    'a',
    {
      class: `mark ${bar ? 'bar' : 'point'} status-${group.status.toLowerCase()}`,
      href: links.group(group.id),
      'data-group-id': group.id,
      'data-status': group.status,
      'data-key': `mark:${group.id}`,
      'aria-label': words.join(', '),
      title: lines.join('\n'),
    },
    h('span', { class: bar ? 'mark-bar' : 'mark-pin', 'aria-hidden': 'true' }),
    h('span', { class: 'mark-text', 'aria-hidden': 'true' }, text),
  );
  const from = Math.max(item.from, win.start);
  link.style.left = percent((from - win.start) / win.span);
  if (item.until !== undefined) link.style.width = percent((Math.min(item.until, win.end) - from) / win.span);
  return link;
}

/** The axis: ticks in local time (the day named where it changes), UTC on hover. */
function axisRow(win: Window, width: number): HTMLElement {
  const stepMinutes = TICK_MINUTES.find((m) => (win.span / (m * MINUTE)) * TICK_PX <= width) ?? 1440;
  const track = h('div', { class: 'tl-track' });
  let previousDay = '';
  for (const at of ticks(win, stepMinutes)) {
    // A label that would be cut at the right edge is left out.
    if (((at - win.start) / win.span) * width > width - TICK_PX * 0.7) continue;
    const day = localDay(at);
    const text = day === previousDay ? localClock(at) : `${day} ${localClock(at)}`;
    previousDay = day;
    const tick = h('span', { class: 'tick', title: utcTime(at) }, text);
    tick.style.left = percent((at - win.start) / win.span);
    track.append(tick);
  }
  return h('div', { class: 'tl-row tl-axis', 'aria-hidden': 'true' }, h('div', { class: 'tl-label' }, `Lane (${ZONE})`), track);
}

/** Tick instants: whole steps of local time (so 09:00, not 08:47), by local fields for summer time. */
function ticks(win: Window, stepMinutes: number): number[] {
  const t = new Date(win.start);
  if (stepMinutes < 60) {
    t.setSeconds(0, 0);
    t.setMinutes(Math.ceil(t.getMinutes() / stepMinutes) * stepMinutes);
  } else if (stepMinutes < 1440) {
    if (t.getMinutes() || t.getSeconds() || t.getMilliseconds()) t.setHours(t.getHours() + 1, 0, 0, 0);
    t.setHours(Math.ceil(t.getHours() / (stepMinutes / 60)) * (stepMinutes / 60));
  } else {
    if (t.getHours() || t.getMinutes() || t.getSeconds() || t.getMilliseconds()) t.setDate(t.getDate() + 1);
    t.setHours(0, 0, 0, 0);
  }
  const out: number[] = [];
  while (t.getTime() <= win.end && out.length < 100) {
    out.push(t.getTime());
    if (stepMinutes < 60) t.setMinutes(t.getMinutes() + stepMinutes);
    else t.setHours(t.getHours() + stepMinutes / 60);
  }
  return out;
}

/** A freeze occurrence that overlaps the window. */
interface Shown {
  view: FreezeView;
  from: number;
  until: number;
}

/**
 * The freeze occurrences in the window: the API gives each freeze the occurrence in force or
 * next (`next`); a one-off freeze that ended has its `from`/`until` only.
 */
function occurrencesIn(freezes: readonly FreezeView[], win: Window): Shown[] {
  const shown: Shown[] = [];
  for (const view of freezes) {
    if (view.freeze.removing) continue;
    const occurrence = view.next ?? (view.freeze.from && view.freeze.until ? { from: view.freeze.from, until: view.freeze.until } : undefined);
    if (!occurrence) continue;
    const from = Date.parse(occurrence.from);
    const until = Date.parse(occurrence.until);
    if (from < win.end && until > win.start) shown.push({ view, from, until });
  }
  return shown.sort((a, b) => a.from - b.from);
}

/** Whether a freeze covers a lane: no scope is every lane; a branch alone, that branch everywhere. */
function covers(view: FreezeView, repository: string, targetBranch: string): boolean {
  const { freeze } = view;
  if (freeze.targetBranch !== undefined && freeze.targetBranch !== targetBranch) return false;
  return freeze.repository === undefined || freeze.repository === repository;
}

/** The strip under the axis: every freeze in view, labelled with its reason. */
function freezeRow(shown: Shown[], win: Window): HTMLElement {
  const track = h('div', { class: 'tl-track' });
  for (const { view, from, until } of shown) track.append(band(view, from, until, win, { class: 'band labelled' }, view.freeze.reason));
  return h('div', { class: 'tl-row tl-freezes', 'aria-hidden': 'true' }, h('div', { class: 'tl-label' }, 'Freezes'), track);
}

function band(view: FreezeView, from: number, until: number, win: Window, attributes: Record<string, string>, text?: string): HTMLElement {
  const title = `Freeze: ${view.freeze.reason}\n${freezeScope(view.freeze)}\n${localTime(from)} – ${localTime(until)}\n(${utcTime(from)} – ${utcTime(until)})`;
  const element = h('div', { class: 'band', title, 'data-freeze-id': view.freeze.id, ...attributes }, text);
  const left = Math.max(from, win.start);
  element.style.left = percent((left - win.start) / win.span);
  element.style.width = percent((Math.min(until, win.end) - left) / win.span);
  return element;
}

function button(label: string, onClick: () => void): HTMLButtonElement {
  const element: HTMLButtonElement = h('button', { type: 'button' }, label);
  element.addEventListener('click', () => {
    if (isUsable(element)) onClick();
  });
  return element;
}

function percent(fraction: number): string {
  return `${(Math.min(Math.max(fraction, 0), 1) * 100).toFixed(3)}%`;
}
