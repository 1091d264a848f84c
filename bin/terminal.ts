/**
 * Everything the CLI prints goes through here: control characters that came from inputs
 * (job names, messages, circuit text in errors) are shown escaped, never interpreted by the
 * terminal. Tab and newline are kept; the escapes are valid in JSON strings too.
 */

// C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides that reorder text.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** `text` with every control character written as \uXXXX. */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, (c) => `\\u${(c.codePointAt(0) as number).toString(16).padStart(4, '0')}`);
}

/** Prints to standard output. */
export function writeOut(text: string): void {
  process.stdout.write(escapeControl(text));
}

/** Prints to standard error. */
export function writeErr(text: string): void {
  process.stderr.write(escapeControl(text));
}
