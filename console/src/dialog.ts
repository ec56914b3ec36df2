/**
 * A confirmation: a modal `<dialog>` with a question, an explanation, maybe a reason (optional, or
 * required and refused in words when empty), "<Confirm …>" and "Back". The group page's cancel
 * and the lane page's pause and resume use it.
 */
import { h, uniqueId } from './dom.ts';

export interface DialogText {
  testId: string;
  /** The question and explanation shown; {@link ConfirmDialog.open} may give others. */
  question?: string;
  explanation?: string;
  /** The Confirm button's name, e.g. "Confirm cancel". */
  confirm: string;
  /** Ask for a reason (up to 500 characters): not at all, optionally, or required. */
  reason: 'none' | 'optional' | 'required';
}

/** What Confirm does: the action with the reason given (`''`: none), then where the focus goes once the dialog is closed. */
export type ConfirmAction = (reason: string) => Promise<HTMLElement>;

export interface ConfirmDialog {
  element: HTMLDialogElement;
  /** Open it (the reason emptied), with the question and explanation of the moment if given. */
  open(now?: { question: string; explanation: string }): void;
  onConfirm(action: ConfirmAction): void;
}

export function confirmDialog(text: DialogText): ConfirmDialog {
  const titleId = uniqueId('dialog-title');
  const reasonId = uniqueId('dialog-reason');
  const errorId = uniqueId('dialog-reason-error');
  const question = h('h2', { id: titleId }, text.question ?? '');
  const explanation = h('p', null, text.explanation ?? '');
  // `required` names the field as required; `novalidate` lets the dialog say why in its own words.
  const reason = h('input', { id: reasonId, type: 'text', maxlength: 500, autocomplete: 'off', required: text.reason === 'required' });
  const reasonProblem = h('p', { id: errorId, class: 'problem', role: 'alert', 'data-testid': 'reason-problem' });
  const confirm = h('button', { type: 'submit', class: 'danger' }, text.confirm);
  const back = h('button', { type: 'button' }, 'Back');
  const form = h(
    'form',
    { method: 'dialog', novalidate: true },
    question,
    explanation,
    text.reason === 'none'
      ? null
      : h('div', { class: 'field' }, h('label', { for: reasonId }, text.reason === 'required' ? 'Reason' : 'Reason (optional)'), reason, reasonProblem),
    h('div', { class: 'buttons' }, confirm, back),
  );
  const element = h('dialog', { 'aria-labelledby': titleId, 'data-testid': text.testId }, form);

  let action: ConfirmAction | undefined;
  const markReason = (message: string): void => {
    reasonProblem.textContent = message;
    if (message) {
      reason.setAttribute('aria-invalid', 'true');
      reason.setAttribute('aria-describedby', errorId);
    } else {
      reason.removeAttribute('aria-invalid');
      reason.removeAttribute('aria-describedby');
    }
  };
  back.addEventListener('click', () => element.close());
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!action || confirm.getAttribute('aria-busy') === 'true') return;
    const given = reason.value.trim();
    if (text.reason === 'required' && given === '') {
      markReason('Give a reason.');
      reason.focus();
      return;
    }
    markReason('');
    confirm.setAttribute('aria-busy', 'true');
    void action(given).then((focus) => {
      confirm.removeAttribute('aria-busy');
      element.close();
      focus.focus();
    });
  });

  return {
    element,
    open(now) {
      if (now) {
        question.textContent = now.question;
        explanation.textContent = now.explanation;
      }
      reason.value = '';
      markReason('');
      element.showModal();
    },
    onConfirm(next) {
      action = next;
    },
  };
}
