/**
 * A confirmation: a modal `<dialog>` with a question, an explanation, maybe fields to fill (a new
 * time, the sources), maybe a reason (optional, or required and refused in words when empty),
 * "<Confirm …>" and "Back". The group page's cancel, reschedule, edit and retry, the lane page's
 * pause and resume, and the freezes view's add and remove use it.
 */
import { h, uniqueId } from './dom.ts';

/** A field of the dialog, above the reason. */
export interface DialogField {
  /** Its key in the values the action is given. */
  name: string;
  label: string;
  hint?: string;
  placeholder?: string;
  /** Rows of a `<textarea>` (one source per line); absent: a one-line `<input>`. */
  rows?: number;
}

export interface DialogText {
  testId: string;
  /** The question and explanation shown; {@link ConfirmDialog.open} may give others. */
  question?: string;
  explanation?: string;
  /** The Confirm button's name, e.g. "Confirm cancel". */
  confirm: string;
  /** Ask for a reason (up to 500 characters): not at all, optionally, or required. */
  reason: 'none' | 'optional' | 'required';
  /** Confirm undoes something (cancel, pause, remove): drawn in the danger colour; else plain. */
  destructive?: boolean;
  /** Fields the action reads (and may refuse): filled by {@link ConfirmDialog.open}. */
  fields?: readonly DialogField[];
}

/** What the action found wrong with a field (`reason` or a {@link DialogField.name}): said beside it, and the dialog stays open. */
export interface DialogRefusal {
  refused: string;
  field: string;
}

/**
 * What Confirm does: the action with the reason given (`''`: none) and the fields' values, then
 * where the focus goes once the dialog is closed, or a refusal of what was typed (nothing sent).
 */
export type ConfirmAction = (reason: string, values: Readonly<Record<string, string>>) => Promise<HTMLElement | DialogRefusal>;

export interface ConfirmDialog {
  element: HTMLDialogElement;
  /**
   * Open it (the reason emptied, each field set to `values`' or emptied), with the question and
   * explanation of the moment if given.
   */
  open(now?: { question: string; explanation: string; values?: Readonly<Record<string, string>> }): void;
  onConfirm(action: ConfirmAction): void;
}

/** One control of the dialog with the line that says what is wrong with it. */
interface Control {
  name: string;
  input: HTMLInputElement | HTMLTextAreaElement;
  element: HTMLElement;
  mark(message: string): void;
}

export function confirmDialog(text: DialogText): ConfirmDialog {
  const titleId = uniqueId('dialog-title');
  const question = h('h2', { id: titleId }, text.question ?? '');
  const explanation = h('p', null, text.explanation ?? '');
  const fields = (text.fields ?? []).map((f) =>
    control(f.name, f.label, f.rows ? h('textarea', { rows: f.rows, spellcheck: 'false' }) : h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', placeholder: f.placeholder }), f.hint),
  );
  // `required` names the field as required; `novalidate` lets the dialog say why in its own words.
  const reason =
    text.reason === 'none'
      ? undefined
      : control('reason', text.reason === 'required' ? 'Reason' : 'Reason (optional)', h('input', { type: 'text', maxlength: 500, autocomplete: 'off', required: text.reason === 'required' }));
  const controls = reason ? [...fields, reason] : fields;
  const confirm = h('button', { type: 'submit', class: text.destructive ? 'danger' : 'primary' }, text.confirm);
  const back = h('button', { type: 'button' }, 'Back');
  const form = h(
    'form',
    { method: 'dialog', novalidate: true },
    question,
    explanation,
    controls.map((c) => c.element),
    h('div', { class: 'buttons' }, confirm, back),
  );
  const element = h('dialog', { 'aria-labelledby': titleId, 'data-testid': text.testId }, form);

  let action: ConfirmAction | undefined;
  const refuse = (refusal: DialogRefusal): void => {
    const named = controls.find((c) => c.name === refusal.field) ?? controls[0];
    if (!named) return;
    named.mark(refusal.refused);
    named.input.focus();
  };
  /** While the action's request is out, the dialog stays (its answer closes it, or says what was refused). */
  let busy = false;
  /** How many times it was opened: an answer belongs to the opening it was confirmed in. */
  let opened = 0;
  const setBusy = (value: boolean): void => {
    busy = value;
    if (value) {
      confirm.setAttribute('aria-busy', 'true');
      back.setAttribute('aria-disabled', 'true');
    } else {
      confirm.removeAttribute('aria-busy');
      back.removeAttribute('aria-disabled');
    }
  };
  back.addEventListener('click', () => {
    if (!busy) element.close();
  });
  // Escape too: a dialog closed under its request would have the answer move the focus (or reset
  // a form) in whatever the operator turned to meanwhile.
  element.addEventListener('cancel', (event) => {
    if (busy) event.preventDefault();
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!action || busy) return;
    for (const c of controls) c.mark('');
    const given = reason?.input.value.trim() ?? '';
    if (text.reason === 'required' && given === '') {
      refuse({ refused: 'Give a reason.', field: 'reason' });
      return;
    }
    const values = Object.fromEntries(fields.map((c) => [c.name, c.input.value]));
    setBusy(true);
    const opening = opened;
    action(given, values).then(
      (result) => {
        setBusy(false);
        // Closed anyway meanwhile (a browser may let a second Escape through), or opened again:
        // the answer is shown by the view, and the focus stays where the operator is.
        if (!element.open || opening !== opened) return;
        if ('refused' in result) {
          refuse(result);
          return;
        }
        element.close();
        result.focus();
      },
      (error: unknown) => {
        // The actions catch what the API answers: this is a bug, said where the operator looks.
        setBusy(false);
        explanation.textContent = `Something went wrong in the console: ${String(error)}`;
      },
    );
  });

  return {
    element,
    open(now) {
      if (now) {
        question.textContent = now.question;
        explanation.textContent = now.explanation;
      }
      for (const c of controls) {
        c.input.value = now?.values?.[c.name] ?? '';
        c.mark('');
      }
      opened++;
      element.showModal();
      // Nothing to fill: the focus on Back, so that a held or repeated Enter confirms nothing.
      if (controls.length === 0) back.focus();
    },
    onConfirm(next) {
      action = next;
    },
  };
}

/** A labelled control, its hint and its problem line (`<name>-problem`), linked by `aria-describedby`. */
function control(name: string, label: string, input: HTMLInputElement | HTMLTextAreaElement, hint?: string): Control {
  input.id = uniqueId(`dialog-${name}`);
  const hintElement = hint ? h('p', { class: 'hint', id: uniqueId(`dialog-${name}-hint`) }, hint) : undefined;
  const problem = h('p', { id: uniqueId(`dialog-${name}-error`), class: 'problem', role: 'alert', 'data-testid': `${name}-problem` });
  const describedBy = (invalid: boolean): string => [hintElement?.id, invalid ? problem.id : undefined].filter(Boolean).join(' ');
  if (hintElement) input.setAttribute('aria-describedby', describedBy(false));
  return {
    name,
    input,
    element: h('div', { class: 'field' }, h('label', { for: input.id }, label), input, hintElement, problem),
    mark(message) {
      problem.textContent = message;
      if (message) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
      const ids = describedBy(message !== '');
      if (ids) input.setAttribute('aria-describedby', ids);
      else input.removeAttribute('aria-describedby');
    },
  };
}
