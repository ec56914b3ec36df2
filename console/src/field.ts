/**
 * A form's labelled field: its control, an optional hint linked by `aria-describedby`, and a mark
 * for a field that was refused (by the form before sending, or by the API's `errors`). The schedule
 * form and the freeze form use it.
 */
import { h, uniqueId } from './dom.ts';

export interface Field {
  element: HTMLElement;
  control: HTMLInputElement | HTMLTextAreaElement;
  /** Mark the field invalid (`aria-invalid`) or clear it. */
  mark(invalid: boolean): void;
}

/** A labelled control with an optional hint, linked by `for` and `aria-describedby`. */
export function field(label: string, control: HTMLInputElement | HTMLTextAreaElement, hint?: string): Field {
  control.id = uniqueId(control.name);
  const hintElement = hint ? h('p', { class: 'hint', id: uniqueId(`${control.name}-hint`) }, hint) : undefined;
  if (hintElement) control.setAttribute('aria-describedby', hintElement.id);
  return {
    element: h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintElement),
    control,
    mark(invalid) {
      if (invalid) control.setAttribute('aria-invalid', 'true');
      else control.removeAttribute('aria-invalid');
    },
  };
}
