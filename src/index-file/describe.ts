/**
 * How index problems are named in messages: paths like `chunks[3].holders[0].node` and values shown
 * quoted, shortened and escaped, so a hostile index cannot put control characters, bidi overrides or
 * megabytes of text into a terminal or a log line.
 */

export type JsonPath = readonly (string | number)[];

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const MAX_SHOWN = 64;

/** `chunks[3].uuid`; keys that are not identifiers are shown in brackets: `file["a b"]`. */
export function formatPath(path: JsonPath): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (IDENTIFIER.test(part)) out += out === '' ? part : `.${part}`;
    else out += `[${quote(part)}]`;
  }
  return out;
}

/**
 * A string in double quotes, at most `max` (64) characters of it, every character outside printable
 * ASCII written as a `\uXXXX` escape.
 */
export function quote(text: string, max = MAX_SHOWN): string {
  const shown = text.length > max ? text.slice(0, max) : text;
  let out = '"';
  for (let k = 0; k < shown.length; k++) {
    const c = shown.charCodeAt(k);
    if (c === 0x22 || c === 0x5c) out += `\\${shown[k]}`;
    else if (c >= 0x20 && c < 0x7f) out += shown[k];
    else out += `\\u${c.toString(16).padStart(4, '0')}`;
  }
  return `${out}${shown === text ? '' : '…'}"`;
}

/** A value as a message shows it: `"abc"`, `12`, `true`, `null`, `an array`, `an object`, `missing`. */
export function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return quote(value);
    case 'number':
    case 'boolean':
      return String(value);
    case 'object':
      return Array.isArray(value) ? 'an array' : 'an object';
    default:
      return `a ${typeof value}`;
  }
}

/** 1-based line and column (in UTF-16 code units) of `offset` in `text`. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let k = text.indexOf('\n'); k !== -1 && k < offset; k = text.indexOf('\n', k + 1)) {
    line++;
    lineStart = k + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/** Thousands separators for limits in messages: 1,048,576. */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}
