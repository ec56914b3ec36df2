/**
 * The schedule form (`#/schedule`): repository, target branch, sources (one per line), time and
 * description. A time is taken as the CLI's `--at` takes it, and one without a zone offset is
 * refused here, before anything is sent. On `201` the console goes to the new group's page; a
 * refusal is shown in words, with the fields it names marked.
 */
import { ApiError, createGroup, newIdempotencyKey } from './api.ts';
import type { CreateGroupInput } from '../../client/types.ts';
import { announce } from './announce.ts';
import { h } from './dom.ts';
import { field, type Field } from './field.ts';
import { problemLines } from './format.ts';
import { localIsoIn, resolveTime, sourcesOf, timeHint } from './input.ts';
import { links } from './router.ts';
import { heading, type View } from './view.ts';

/** The schedule view. */
export function scheduleView(): View {
  const title = heading('Schedule a group');
  const problem = h('div', { class: 'problem', role: 'alert', 'data-testid': 'form-problem' });

  const repository = field('Repository', h('input', { name: 'repository', type: 'text', required: true, autocomplete: 'off', spellcheck: 'false' }), 'A URL, path or name the executor understands.');
  const target = field('Target branch', h('input', { name: 'targetBranch', type: 'text', required: true, autocomplete: 'off', spellcheck: 'false', placeholder: 'main' }));
  const sources = field('Sources', h('textarea', { name: 'sources', rows: 4, required: true, spellcheck: 'false' }), 'One branch, tag or commit per line, in the order they are applied.');
  const example = localIsoIn(10, Date.now());
  const time = field(
    'Time',
    h('input', { name: 'scheduledAt', type: 'text', required: true, autocomplete: 'off', spellcheck: 'false', placeholder: example }),
    timeHint(example),
  );
  const description = field('Description (optional)', h('textarea', { name: 'description', rows: 2, maxlength: 1000 }));
  const submit = h('button', { type: 'submit' }, 'Schedule');

  const form = h(
    'form',
    { class: 'schedule', novalidate: true, 'aria-labelledby': title.id },
    repository.element,
    target.element,
    sources.element,
    time.element,
    description.element,
    problem,
    h('div', { class: 'buttons' }, submit),
  );
  const element = h('section', { class: 'view schedule' }, title, form);

  /**
   * The last request sent and not answered with a group: the form's raw values, the body as
   * resolved then (a relative time resolved once) and its key, so sending the unchanged form again
   * after a lost answer repeats that request exactly, and the API makes one group of both.
   */
  let sent: { form: string; input: CreateGroupInput; key: string } | undefined;

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (submit.getAttribute('aria-busy') === 'true') return;
    void send();
  });

  async function send(): Promise<void> {
    for (const f of [repository, target, sources, time, description]) f.mark(false);
    const input = read();
    if ('refused' in input) {
      input.field.mark(true);
      problem.replaceChildren(h('strong', null, 'Not sent'), h('p', null, input.refused));
      input.field.control.focus();
      return;
    }
    problem.replaceChildren();
    const form = JSON.stringify([repository, target, sources, time, description].map((f) => f.control.value));
    if (sent?.form !== form) sent = { form, input, key: newIdempotencyKey() };
    submit.setAttribute('aria-busy', 'true');
    try {
      const group = await createGroup(sent.input, sent.key);
      sent = undefined;
      announce(`Group ${group.id} scheduled.`);
      location.hash = links.group(group.id);
    } catch (error) {
      const shown = error instanceof ApiError ? error.problem : { title: 'The group was not created', status: 0, detail: String(error) };
      problem.replaceChildren(...problemLines(shown));
      for (const issue of shown.errors ?? []) fieldNamed(issue.field)?.mark(true);
    } finally {
      submit.removeAttribute('aria-busy');
    }
  }

  function read(): CreateGroupInput | { refused: string; field: Field } {
    const list = sourcesOf(sources.control.value).map((source) => ({ source }));
    if (!repository.control.value.trim()) return { refused: 'Give the repository.', field: repository };
    if (!target.control.value.trim()) return { refused: 'Give the target branch.', field: target };
    if (list.length === 0) return { refused: 'Give at least one source, one per line.', field: sources };
    const at = resolveTime(time.control.value, Date.now());
    if ('refused' in at) return { refused: at.refused, field: time };
    const text = description.control.value.trim();
    return { repository: repository.control.value.trim(), targetBranch: target.control.value.trim(), promotions: list, scheduledAt: at.at, ...(text ? { description: text } : {}) };
  }

  /** The form field an API error names (`promotions[1].source` is a line of the sources). */
  function fieldNamed(name: string | undefined): Field | undefined {
    if (name === undefined) return undefined;
    if (name.startsWith('promotions')) return sources;
    const byName: Record<string, Field> = { repository, targetBranch: target, scheduledAt: time, description };
    return byName[name];
  }

  return { title: 'Schedule a group', element, heading: title, stop: () => undefined };
}
