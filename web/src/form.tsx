import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError } from './api';

/** The outcome of an action, shown to the user: a success (`ok`) or the API's refusal. */
export type Message = { ok: boolean; text: string } | null;

/** A refusal the API gave this identity, said plainly; anything else with the gateway's message. */
export function explain(e: unknown): string {
  if (e instanceof ApiError && e.status === 403) return `Not allowed for your role: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

export function Status({ message, testid }: { message: Message; testid?: string }) {
  return message ? (
    <p role="status" class={message.ok ? 'ok' : 'error'} data-testid={testid}>
      {message.text}
    </p>
  ) : null;
}

export interface Option {
  value: string;
  label: string;
}

/** One control of a form. Its value is a string (a checkbox's is 'true' or 'false'). */
export interface Field {
  name: string;
  label: string;
  kind?: 'text' | 'number' | 'url' | 'select' | 'textarea' | 'checkbox';
  /** For selects: plain strings are both value and label. */
  options?: readonly (string | Option)[];
  required?: boolean;
  min?: number;
  max?: number;
  step?: number | 'any';
  rows?: number;
  placeholder?: string;
  /** Spans the whole row of the grid. */
  wide?: boolean;
}

export type Values = Record<string, string>;

interface FormProps<V extends Values> {
  testid: string;
  /** The form's heading (h3); none for a one-field form. */
  title?: string;
  initial: V;
  /** The fields for the current values: a field may appear, or change, with another's value. */
  fields: (values: V) => (Field | false | null | undefined)[];
  submit: string;
  /** Throws to refuse: the error is shown in the form (the API's message, or "Not allowed for your role"). */
  onSubmit: (values: V) => Promise<void>;
  /** Shows a Cancel button (e.g. when editing). */
  onCancel?: () => void;
  /** Back to `initial` after a success (a create form). */
  resetOnSuccess?: boolean;
  /** Under the buttons: e.g. a preview the form produced. */
  children?: ComponentChildren;
}

/**
 * The console's one form: a grid of labelled controls, a submit button, and the refusal shown in place.
 * What a submission does (and what it tells the screen) is the caller's `onSubmit`.
 */
export function Form<V extends Values>(props: FormProps<V>) {
  const [values, setValues] = useState<V>(props.initial);
  const [message, setMessage] = useState<Message>(null);
  const [busy, setBusy] = useState(false);
  const set = (name: string, value: string) => setValues((current) => ({ ...current, [name]: value }));

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    try {
      await props.onSubmit(values);
      setMessage(null);
      if (props.resetOnSuccess) setValues(props.initial);
    } catch (e) {
      setMessage({ ok: false, text: explain(e) });
    } finally {
      setBusy(false);
    }
  };

  const fields = props.fields(values).filter((f): f is Field => Boolean(f));
  return (
    <form class="panel" onSubmit={(e) => void submit(e)} data-testid={props.testid}>
      {props.title && <h3>{props.title}</h3>}
      <div class="grid">
        {fields.map((f) => (
          <Control key={f.name} field={f} value={values[f.name] ?? ''} onChange={(v) => set(f.name, v)} />
        ))}
      </div>
      <button type="submit" disabled={busy}>
        {props.submit}
      </button>{' '}
      {props.onCancel && (
        <button type="button" class="secondary" onClick={props.onCancel}>
          Cancel
        </button>
      )}
      <Status message={message} />
      {props.children}
    </form>
  );
}

function Control({ field, value, onChange }: { field: Field; value: string; onChange: (v: string) => void }) {
  const cls = field.wide ? 'wide' : undefined;
  const read = (e: Event) => onChange((e.currentTarget as HTMLInputElement).value);
  if (field.kind === 'checkbox')
    return (
      <label class={cls ? `check ${cls}` : 'check'}>
        <input
          type="checkbox"
          name={field.name}
          checked={value === 'true'}
          onChange={(e) => onChange(String(e.currentTarget.checked))}
        />{' '}
        {field.label}
      </label>
    );
  let control;
  if (field.kind === 'select') {
    control = (
      <select name={field.name} required={field.required} value={value} onChange={read}>
        {(field.options ?? []).map((o) => {
          const option = typeof o === 'string' ? { value: o, label: o } : o;
          return (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          );
        })}
      </select>
    );
  } else if (field.kind === 'textarea') {
    control = (
      <textarea
        name={field.name}
        rows={field.rows ?? 4}
        required={field.required}
        placeholder={field.placeholder}
        value={value}
        onInput={read}
      />
    );
  } else {
    control = (
      <input
        name={field.name}
        // preact types `type` per literal (the lint's type view of preact differs): one cast for three kinds.
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
        type={(field.kind ?? 'text') as 'text'}
        required={field.required}
        min={field.min}
        max={field.max}
        step={field.step}
        placeholder={field.placeholder}
        value={value}
        onInput={read}
      />
    );
  }
  return (
    <label class={cls}>
      {field.label}
      {control}
    </label>
  );
}
