// How an error from the core is shown: its message, then what to do about it. The core
// sends `{code, message, fix}`; where the app has a button that is the fix (Sign in for
// `needs_sign_in`, re-plan for `config_changed`) the view passes it in and it replaces
// the fix text, which is written for the command line. Otherwise the fix text is shown.
import type { ErrorCode, ErrorView } from './bindings';
import { h } from './dom';

/** A button that fixes an error of one code, offered by the view the error happened in. */
export interface FixAction {
  label: string;
  run: () => void;
}

export type FixActions = Partial<Record<ErrorCode, FixAction>>;

/** The `{code, message, fix}` of an IPC error; anything else thrown becomes a message. */
export function asErrorView(e: unknown): ErrorView {
  if (e && typeof e === 'object' && 'message' in e) {
    const v = e as Partial<ErrorView>;
    return {
      code: v.code ?? 'other',
      message: String(v.message),
      fix: typeof v.fix === 'string' && v.fix ? v.fix : null,
    };
  }
  return { code: 'other', message: String(e), fix: null };
}

/** The message of an error (or anything else thrown), without its fix. */
export function errorText(e: unknown): string {
  return asErrorView(e).message;
}

/**
 * The message, then the view's button for this error's code, or else the fix in words.
 * `onFix` runs before the action (the shell clears the status line with it).
 */
export function errorBlock(e: unknown, actions: FixActions = {}, onFix: () => void = () => {}): HTMLElement {
  const err = asErrorView(e);
  const action = actions[err.code];
  return h(
    'span',
    { class: 'err', 'data-code': err.code },
    h('span', { class: 'message' }, err.message),
    action
      ? h(
          'button',
          {
            type: 'button',
            class: 'fix-action',
            'data-fix': err.code,
            onclick: () => {
              onFix();
              action.run();
            },
          },
          action.label,
        )
      : err.fix
        ? h('span', { class: 'fix', 'data-fix-text': '' }, err.fix)
        : null,
  );
}
