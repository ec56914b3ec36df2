/**
 * The freezes view (`#/freezes`): every freeze window (`GET /v1/freezes`, oldest first, at most
 * 100: no pages) with its reason, scope, window (one-off from–until, or a weekly rule in its zone)
 * and the occurrence that holds now or next; a Remove per freeze, and a form to add one, each
 * confirmed in a dialog. The form takes what the CLI's `freeze add` takes: a one-off window (times
 * as the schedule form's, an offset required) or a weekly rule and its IANA zone, a scope (a target
 * branch, and a repository only with it) and a reason; what it can tell is wrong is refused before
 * sending, the rest is the API's to refuse, in words, with the fields it names marked.
 *
 * Read again every second, as every view is; the form and the dialogs sit outside the redrawn
 * table, so a refresh never clears what is being typed.
 */
import { ApiError, addFreeze, isAbort, listFreezes, removeFreeze, type Problem } from './api.ts';
import type { AddFreezeInput, FreezeView } from '../../client/types.ts';
import { h, redraw, uniqueId, type Child } from './dom.ts';
import { confirmDialog } from './dialog.ts';
import { field, type Field } from './field.ts';
import { ZONE, freezeScope, localTime, problemLines, timeElement } from './format.ts';
import { localIsoIn, resolveTime, timeHint } from './input.ts';
import { startPoll } from './poll.ts';
import { heading, loadNotice, type View } from './view.ts';

/** The freezes view. */
export function freezesView(): View {
  const title = heading('Freeze windows');
  const notice = loadNotice();
  const problem = h('div', { class: 'problem', role: 'alert', 'data-testid': 'problem' });
  const done = h('p', { class: 'done', role: 'status', 'data-testid': 'freeze-done' });
  const body = h('tbody', null, h('tr', null, h('td', { colspan: 6 }, 'Loading…')));
  const table = h(
    'table',
    { class: 'freezes', 'data-testid': 'freezes-table' },
    h('caption', { class: 'visually-hidden' }, 'Freeze windows, oldest first'),
    h('thead', null, h('tr', null, ['Reason', 'Scope', 'Window', 'Holds now or next', 'Added by', 'Action'].map((c) => h('th', { scope: 'col' }, c)))),
    body,
  );
  const countNote = h('p', { class: 'page-note', 'data-testid': 'freeze-count' });

  const form = freezeForm();
  const addHeading = h('h2', { id: uniqueId('add-freeze') }, 'Add a freeze window');
  const addDialog = confirmDialog({ testId: 'add-freeze-dialog', confirm: 'Confirm add freeze', reason: 'none' });
  const removeDialog = confirmDialog({ testId: 'remove-freeze-dialog', confirm: 'Confirm remove freeze', destructive: true, reason: 'none' });

  const element = h(
    'section',
    { class: 'view freezes' },
    title,
    problem,
    done,
    notice.element,
    h('div', { class: 'table-scroll' }, table),
    countNote,
    h('section', { 'aria-labelledby': addHeading.id }, addHeading, form.element),
    addDialog.element,
    removeDialog.element,
  );

  let views: FreezeView[] = [];
  let drawn = false;
  /** What the open dialog is about: the body to add, or the freeze to remove. */
  let adding: AddFreezeInput | undefined;
  let removing: FreezeView | undefined;

  form.element.addEventListener('submit', (event) => {
    event.preventDefault();
    const input = form.read(Date.now());
    if (!input) return;
    adding = input;
    addDialog.open({
      question: 'Add this freeze window?',
      explanation: `“${input.reason}”: ${freezeScope(input)}, ${windowOfInput(input)}. While it holds, the lanes it covers start nothing: their groups that come due wait for its end. An add sent twice makes two freezes.`,
    });
  });
  addDialog.onConfirm(async () => {
    if (!adding) return form.submit;
    const input = adding;
    problem.replaceChildren();
    done.textContent = '';
    try {
      const view = await addFreeze(input);
      say(`Added freeze ${view.freeze.id} (${view.freeze.reason}).`);
      form.reset();
    } catch (error) {
      form.refused(error instanceof ApiError ? error.problem : { title: 'The freeze was not added', status: 0, detail: String(error) });
    }
    drawn = false;
    poll.refresh();
    return form.firstMarked() ?? form.submit;
  });

  body.addEventListener('click', (event) => {
    const button = event.target instanceof Element ? event.target.closest<HTMLButtonElement>('button[data-remove]') : null;
    const view = views.find((v) => v.freeze.id === button?.dataset.remove);
    if (!view) return;
    removing = view;
    removeDialog.open({
      question: `Remove freeze ${view.freeze.id}?`,
      explanation: `“${view.freeze.reason}”, ${freezeScope(view.freeze)}. The groups it holds are released at once: each is due again now (or at its own time, if that is still ahead), unless another freeze holds it. The answer takes a second or two.`,
    });
  });
  removeDialog.onConfirm(async () => {
    if (!removing) return title;
    const { id, reason } = removing.freeze;
    problem.replaceChildren();
    done.textContent = '';
    try {
      const removed = await removeFreeze(id);
      say(`Removed freeze ${id} (${reason}); released ${removed.released} held group${removed.released === 1 ? '' : 's'}.`);
    } catch (error) {
      const shown = error instanceof ApiError ? error.problem : { title: 'The freeze was not removed', status: 0, detail: String(error) };
      problem.replaceChildren(...problemLines(shown));
    }
    drawn = false;
    poll.refresh();
    // Its row (and button) is gone once the list is read again.
    return title;
  });

  function say(text: string): void {
    // Its role=status says it to screen readers.
    done.textContent = text;
  }

  async function refresh(signal: AbortSignal): Promise<void> {
    try {
      const answer = await listFreezes(signal);
      notice.clear();
      views = answer.body.items;
      if (!answer.changed && drawn) return;
      drawn = true;
      redraw(body, views.length ? views.map(row) : h('tr', null, h('td', { colspan: 6 }, 'No freeze windows: every lane may start its groups.')));
      const holding = views.filter((v) => v.next?.active).length;
      countNote.textContent = `${views.length} freeze window${views.length === 1 ? '' : 's'}, ${holding} holding now.`;
    } catch (error) {
      if (!isAbort(error)) notice.show(error);
    }
  }

  const poll = startPoll(refresh);
  return { title: 'Freeze windows', element, heading: title, stop: () => poll.stop() };
}

function row(view: FreezeView): HTMLTableRowElement {
  const { freeze } = view;
  return h(
    'tr',
    { 'data-freeze-id': freeze.id, 'data-state': freeze.removing ? 'removing' : view.next?.active ? 'holding' : view.next ? 'ahead' : 'ended' },
    h('td', { class: 'wrap' }, h('strong', null, freeze.reason), h('br'), h('code', null, freeze.id)),
    h('td', { class: 'wrap' }, freezeScope(freeze)),
    h('td', { class: 'wrap' }, windowOf(view)),
    h('td', { class: 'wrap' }, nextOf(view)),
    h('td', { class: 'wrap' }, freeze.by),
    // The name starts with what the button shows, and says which freeze: every row has one.
    h('td', null, h('button', { type: 'button', class: 'danger', 'data-remove': freeze.id, 'data-key': `remove:${freeze.id}`, 'aria-label': `Remove freeze ${freeze.id} (${freeze.reason})` }, 'Remove')),
  );
}

/** `every week Fri 16:00 – Mon 08:00 (Europe/Berlin)`, or the one-off's from – until (in its zone if it has one). */
function windowOf(view: FreezeView): Child[] {
  const { freeze } = view;
  if (freeze.weekly) {
    const { from, until, zone } = freeze.weekly;
    return [`every week ${from.day} ${from.time} – ${until.day} ${until.time} (${zone})`];
  }
  return [timeElement(freeze.from), ' – ', timeElement(freeze.until), freeze.zone ? ` (its zone: ${freeze.zone})` : ''];
}

/** The occurrence in force or next, or why there is none. */
function nextOf(view: FreezeView): Child[] {
  if (view.freeze.removing) return ['being removed: it holds nothing (remove it again to finish)'];
  if (!view.next) return ['ended'];
  if (view.next.active) return [h('span', { class: 'badge paused' }, 'in force'), ' until ', timeElement(view.next.until)];
  return [timeElement(view.next.from), ' – ', timeElement(view.next.until)];
}

function windowOfInput(input: AddFreezeInput): string {
  if (input.weekly !== undefined) return `every week ${input.weekly} (${input.tz})`;
  return `from ${localTime(String(input.from))} until ${localTime(String(input.until))}${input.tz ? ` (its zone: ${input.tz})` : ''}`;
}

interface FreezeForm {
  element: HTMLFormElement;
  submit: HTMLButtonElement;
  /** The body the form asks for, its times resolved against `now`; undefined: refused (and said so). */
  read(now: number): AddFreezeInput | undefined;
  /** Show the API's refusal, the fields it names marked. */
  refused(problem: Problem): void;
  firstMarked(): HTMLElement | undefined;
  reset(): void;
}

/** The add form: reason, scope, and a one-off or weekly window. */
function freezeForm(): FreezeForm {
  const example = localIsoIn(10, Date.now());
  const reason = field('Reason', h('input', { name: 'reason', type: 'text', required: true, maxlength: 500, autocomplete: 'off' }), 'Why; shown to whoever waits (1 to 500 characters).');
  const target = field('Target branch (optional)', h('input', { name: 'targetBranch', type: 'text', autocomplete: 'off', spellcheck: 'false' }), 'Only lanes of this target branch; empty: every lane.');
  const repository = field('Repository (optional)', h('input', { name: 'repository', type: 'text', autocomplete: 'off', spellcheck: 'false' }), 'With a target branch: only that one lane.');
  const from = field('From', h('input', { name: 'from', type: 'text', autocomplete: 'off', spellcheck: 'false', placeholder: example }), `Inclusive. ${timeHint(example)}`);
  const until = field('Until', h('input', { name: 'until', type: 'text', autocomplete: 'off', spellcheck: 'false', placeholder: localIsoIn(70, Date.now()) }), 'Exclusive; the same forms as From.');
  const weekly = field(
    'Weekly rule',
    h('input', { name: 'weekly', type: 'text', autocomplete: 'off', spellcheck: 'false', placeholder: 'Fri 16:00-Mon 08:00' }),
    'Ddd HH:MM-Ddd HH:MM, local days and times in the time zone below, every week (days Mon Tue Wed Thu Fri Sat Sun).',
  );
  const tz = field('Time zone', h('input', { name: 'tz', type: 'text', autocomplete: 'off', spellcheck: 'false', placeholder: ZONE }), `An IANA zone, e.g. ${ZONE === 'UTC' ? 'Europe/Berlin or UTC (this browser\'s)' : `${ZONE} (this browser's) or UTC`}; not an offset. Required for a weekly rule; for a one-off window, optional: the zone its times are shown in.`);
  const kindName = uniqueId('freeze-kind');
  const oneOff = h('input', { type: 'radio', name: kindName, value: 'one-off', id: uniqueId('one-off'), checked: true });
  const everyWeek = h('input', { type: 'radio', name: kindName, value: 'weekly', id: uniqueId('weekly') });
  const kind = h(
    'fieldset',
    { class: 'kind' },
    h('legend', null, 'Window'),
    h('div', { class: 'choice' }, oneOff, h('label', { for: oneOff.id }, 'One-off: from – until')),
    h('div', { class: 'choice' }, everyWeek, h('label', { for: everyWeek.id }, 'Weekly')),
  );
  const problem = h('div', { class: 'problem', role: 'alert', 'data-testid': 'form-problem' });
  const submit = h('button', { type: 'submit' }, 'Add freeze');
  const fields = { reason, targetBranch: target, repository, from, until, weekly, tz } satisfies Record<string, Field>;
  const element = h(
    'form',
    { class: 'freeze-form', novalidate: true, 'aria-label': 'Add a freeze window' },
    reason.element,
    target.element,
    repository.element,
    kind,
    from.element,
    until.element,
    weekly.element,
    tz.element,
    problem,
    h('div', { class: 'buttons' }, submit),
  );

  const showKind = (): void => {
    const isWeekly = everyWeek.checked;
    from.element.hidden = isWeekly;
    until.element.hidden = isWeekly;
    weekly.element.hidden = !isWeekly;
  };
  oneOff.addEventListener('change', showKind);
  everyWeek.addEventListener('change', showKind);
  showKind();

  const clearMarks = (): void => {
    for (const f of Object.values(fields)) f.mark(false);
  };
  const refuse = (text: string, f: Field): undefined => {
    f.mark(true);
    problem.replaceChildren(h('strong', null, 'Not sent'), h('p', null, text));
    f.control.focus();
    return undefined;
  };

  return {
    element,
    submit,
    read(now) {
      clearMarks();
      problem.replaceChildren();
      const why = reason.control.value.trim();
      const branch = target.control.value.trim();
      const repo = repository.control.value.trim();
      const zone = tz.control.value.trim();
      if (!why) return refuse('Give the reason: it is shown to whoever waits.', reason);
      if (repo && !branch) return refuse('A repository needs its target branch: a freeze covers one lane (both), one target branch in every repository (the branch alone), or every lane (neither).', target);
      const scope = repo ? { repository: repo, targetBranch: branch } : branch ? { targetBranch: branch } : {};
      if (everyWeek.checked) {
        const rule = weekly.control.value.trim();
        if (!rule) return refuse('Give the weekly rule, e.g. Fri 16:00-Mon 08:00.', weekly);
        if (!zone) return refuse(`A weekly rule needs its time zone, e.g. ${ZONE}.`, tz);
        return { ...scope, reason: why, weekly: rule, tz: zone };
      }
      const start = resolveTime(from.control.value, now);
      if ('refused' in start) return refuse(start.refused, from);
      const end = resolveTime(until.control.value, now);
      if ('refused' in end) return refuse(end.refused, until);
      return { ...scope, reason: why, from: start.at, until: end.at, ...(zone ? { tz: zone } : {}) };
    },
    refused(shown) {
      clearMarks();
      problem.replaceChildren(...problemLines(shown));
      for (const issue of shown.errors ?? []) if (issue.field && Object.hasOwn(fields, issue.field)) fields[issue.field as keyof typeof fields].mark(true);
    },
    firstMarked() {
      return Object.values(fields).find((f) => f.control.getAttribute('aria-invalid') === 'true')?.control;
    },
    reset() {
      clearMarks();
      problem.replaceChildren();
      for (const f of [reason, from, until, weekly]) f.control.value = '';
    },
  };
}
