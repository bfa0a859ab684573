/**
 * A strict JSON parser (RFC 8259) for untrusted index files. Unlike JSON.parse it refuses duplicate
 * keys and `__proto__` keys at any depth, numbers not written in their canonical ECMAScript form
 * (so `1.0`, `1e3`, `-0`, `1e400` and 2^53 + 1 never silently change value), lone surrogates,
 * comments, NaN/Infinity and trailing data, and it enforces the limits of JSON_LIMITS while it scans,
 * so hostile input (64 MiB of `[`, a 60 MB string, a million-digit number) fails early in bounded
 * time and memory. Only ArozError escapes: ERR_INDEX_TOO_LARGE for the size limits, ERR_INDEX_INVALID
 * for everything else. The result is made of plain objects, arrays, strings, finite numbers,
 * booleans and null.
 */
import { ArozError } from '../errors.ts';
import { count, formatPath, lineAndColumn, quote } from './describe.ts';
import { INDEX_MAX_CHUNKS } from './types.ts';

export const JSON_LIMITS = {
  /** Nesting of arrays and objects (an index needs 5). */
  maxDepth: 32,
  /** Elements of one array (the chunk limit). */
  maxArrayLength: INDEX_MAX_CHUNKS,
  /** Values in the whole document, containers included (bounds memory: a v1 index of 64 MiB has < 3M). */
  maxValues: 4 * INDEX_MAX_CHUNKS,
  /** UTF-16 code units of one string value, after unescaping. */
  maxStringLength: 65_536,
  /** UTF-16 code units of one object key, after unescaping. */
  maxKeyLength: 1024,
  /** Characters of one number (canonical numbers have at most 25). */
  maxNumberLength: 32,
} as const;

export interface StrictJsonOptions {
  /** First word of error messages (default `Index`). */
  subject?: string;
}

/** Parses `text` as one strict JSON value (see the module comment for what is refused). */
export function parseStrictJson(text: string, options: StrictJsonOptions = {}): unknown {
  return new Parser(text, options.subject ?? 'Index').parseDocument();
}

const WS_SPACE = 0x20;
const WS_TAB = 0x09;
const WS_LF = 0x0a;
const WS_CR = 0x0d;
const ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

class Parser {
  #text: string;
  #subject: string;
  #pos = 0;
  #depth = 0;
  #values = 0;
  #path: (string | number)[] = [];

  constructor(text: string, subject: string) {
    this.#text = text;
    this.#subject = subject;
  }

  parseDocument(): unknown {
    if (!this.#text.isWellFormed()) {
      this.#fail(
        'ERR_INDEX_INVALID',
        'has a lone surrogate (half of a UTF-16 pair)',
        this.#text.search(/\p{Cs}/u),
      );
    }
    this.#skipWhitespace();
    const value = this.#parseValue();
    this.#skipWhitespace();
    if (this.#pos < this.#text.length) this.#unexpected('after the JSON value');
    return value;
  }

  #parseValue(): unknown {
    if (++this.#values > JSON_LIMITS.maxValues) {
      this.#fail('ERR_INDEX_TOO_LARGE', `holds more than ${count(JSON_LIMITS.maxValues)} JSON values`);
    }
    const c = this.#text.charCodeAt(this.#pos);
    if (c === 0x7b) return this.#parseObject();
    if (c === 0x5b) return this.#parseArray();
    if (c === 0x22) return this.#parseString(JSON_LIMITS.maxStringLength, 'string');
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.#parseNumber();
    if (this.#text.startsWith('true', this.#pos)) return this.#literal(4, true);
    if (this.#text.startsWith('false', this.#pos)) return this.#literal(5, false);
    if (this.#text.startsWith('null', this.#pos)) return this.#literal(4, null);
    return this.#unexpected('where a value should start');
  }

  #literal<T>(length: number, value: T): T {
    this.#pos += length;
    return value;
  }

  #enter(): void {
    if (++this.#depth > JSON_LIMITS.maxDepth) {
      const what = `nests arrays and objects deeper than ${JSON_LIMITS.maxDepth} levels`;
      this.#fail('ERR_INDEX_INVALID', what, this.#pos, false);
    }
    this.#pos++;
    this.#skipWhitespace();
  }

  #parseObject(): Record<string, unknown> {
    this.#enter();
    const object: Record<string, unknown> = {};
    if (this.#text.charCodeAt(this.#pos) === 0x7d) {
      this.#pos++;
      this.#depth--;
      return object;
    }
    for (;;) {
      if (this.#text.charCodeAt(this.#pos) !== 0x22) this.#unexpected('where a key should start');
      const keyAt = this.#pos;
      const key = this.#parseString(JSON_LIMITS.maxKeyLength, 'key');
      if (key === '__proto__')
        this.#fail('ERR_INDEX_INVALID', 'has a "__proto__" key, which is refused', keyAt);
      if (Object.hasOwn(object, key))
        this.#fail('ERR_INDEX_INVALID', `has the key ${quote(key)} twice`, keyAt);
      this.#skipWhitespace();
      if (this.#text.charCodeAt(this.#pos) !== 0x3a) this.#unexpected('where ":" should be');
      this.#pos++;
      this.#skipWhitespace();
      this.#path.push(key);
      object[key] = this.#parseValue();
      this.#path.pop();
      this.#skipWhitespace();
      const c = this.#text.charCodeAt(this.#pos);
      this.#pos++;
      if (c === 0x7d) break;
      if (c !== 0x2c) this.#unexpected('where "," or "}" should be', this.#pos - 1);
      this.#skipWhitespace();
    }
    this.#depth--;
    return object;
  }

  #parseArray(): unknown[] {
    this.#enter();
    const array: unknown[] = [];
    if (this.#text.charCodeAt(this.#pos) === 0x5d) {
      this.#pos++;
      this.#depth--;
      return array;
    }
    this.#path.push(0);
    for (;;) {
      if (array.length === JSON_LIMITS.maxArrayLength) {
        this.#path.pop();
        this.#fail('ERR_INDEX_TOO_LARGE', `has more than ${count(JSON_LIMITS.maxArrayLength)} entries`);
      }
      this.#path[this.#path.length - 1] = array.length;
      array.push(this.#parseValue());
      this.#skipWhitespace();
      const c = this.#text.charCodeAt(this.#pos);
      this.#pos++;
      if (c === 0x5d) break;
      if (c !== 0x2c) this.#unexpected('where "," or "]" should be', this.#pos - 1);
      this.#skipWhitespace();
    }
    this.#path.pop();
    this.#depth--;
    return array;
  }

  #parseString(maxLength: number, what: 'string' | 'key'): string {
    const text = this.#text;
    const start = this.#pos;
    let pos = start + 1;
    let out = '';
    let runStart = pos;
    let escapedSurrogate = false;
    for (;;) {
      if (out.length + (pos - runStart) > maxLength) {
        this.#fail('ERR_INDEX_INVALID', `has a ${what} longer than ${count(maxLength)} characters`, start);
      }
      if (pos >= text.length) this.#unexpected('inside a string', pos);
      const c = text.charCodeAt(pos);
      if (c === 0x22) break;
      if (c < 0x20) {
        this.#fail('ERR_INDEX_INVALID', `has an unescaped control character U+${hex4(c)} in a ${what}`, pos);
      }
      if (c !== 0x5c) {
        pos++;
        continue;
      }
      out += text.slice(runStart, pos);
      const e = text[pos + 1];
      if (e === 'u') {
        const digits = text.slice(pos + 2, pos + 6);
        if (!/^[0-9A-Fa-f]{4}$/.test(digits)) this.#unexpected('in a \\u escape', pos);
        const unit = Number.parseInt(digits, 16);
        if (unit >= 0xd800 && unit <= 0xdfff) escapedSurrogate = true;
        out += String.fromCharCode(unit);
        pos += 6;
      } else {
        const unescaped = e === undefined ? undefined : ESCAPES[e];
        if (unescaped === undefined) this.#unexpected('after "\\" in a string', pos + 1);
        out += unescaped;
        pos += 2;
      }
      runStart = pos;
    }
    out += text.slice(runStart, pos);
    if (escapedSurrogate && !out.isWellFormed()) {
      this.#fail(
        'ERR_INDEX_INVALID',
        `has a lone surrogate (an unpaired \\uD800-\\uDFFF escape) in a ${what}`,
        start,
      );
    }
    this.#pos = pos + 1;
    return out;
  }

  #parseNumber(): number {
    const text = this.#text;
    const start = this.#pos;
    let pos = start;
    const digits = () => {
      const from = pos;
      while (pos - start <= JSON_LIMITS.maxNumberLength && isDigit(text.charCodeAt(pos))) pos++;
      return pos - from;
    };
    if (text.charCodeAt(pos) === 0x2d) pos++;
    if (text.charCodeAt(pos) === 0x30) pos++;
    else if (digits() === 0) this.#unexpected('in a number', pos);
    if (text.charCodeAt(pos) === 0x2e) {
      pos++;
      if (digits() === 0) this.#unexpected('in a number', pos);
    }
    const e = text.charCodeAt(pos);
    if (e === 0x65 || e === 0x45) {
      pos++;
      const sign = text.charCodeAt(pos);
      if (sign === 0x2b || sign === 0x2d) pos++;
      if (digits() === 0) this.#unexpected('in a number', pos);
    }
    if (pos - start > JSON_LIMITS.maxNumberLength) {
      this.#fail(
        'ERR_INDEX_INVALID',
        `has a number longer than ${JSON_LIMITS.maxNumberLength} characters`,
        start,
      );
    }
    const written = text.slice(start, pos);
    const value = Number(written);
    if (!Number.isFinite(value)) {
      this.#fail('ERR_INDEX_INVALID', `has the number ${written}, which is out of range`, start);
    }
    const canonical = JSON.stringify(value);
    if (canonical !== written) {
      this.#fail(
        'ERR_INDEX_INVALID',
        `has the number ${written}, which is not in canonical form (it reads as ${canonical})`,
        start,
      );
    }
    this.#pos = pos;
    return value;
  }

  #skipWhitespace(): void {
    const text = this.#text;
    let pos = this.#pos;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c !== WS_SPACE && c !== WS_LF && c !== WS_CR && c !== WS_TAB) break;
      pos++;
    }
    this.#pos = pos;
  }

  #unexpected(where: string, at = this.#pos): never {
    const found = at >= this.#text.length ? 'end of input' : showChar(this.#text.codePointAt(at) ?? 0);
    // The place goes after the reason: the document, not the value there, is what is not JSON.
    const place = this.#path.length > 0 ? `, in ${quote(formatPath(this.#path))}` : '';
    return this.#fail(
      'ERR_INDEX_INVALID',
      `is not valid JSON: unexpected ${found} ${where}${place}`,
      at,
      false,
    );
  }

  #fail(
    code: 'ERR_INDEX_INVALID' | 'ERR_INDEX_TOO_LARGE',
    what: string,
    at = this.#pos,
    withPath = true,
  ): never {
    const { line, column } = lineAndColumn(this.#text, at);
    const where = withPath && this.#path.length > 0 ? ` ${quote(formatPath(this.#path))}` : '';
    throw new ArozError(code, `${this.#subject}${where} ${what} (line ${line}, column ${column})`);
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function hex4(c: number): string {
  return c.toString(16).toUpperCase().padStart(4, '0');
}

function showChar(cp: number): string {
  return cp > 0x20 && cp < 0x7f ? quote(String.fromCodePoint(cp)) : `U+${hex4(cp)}`;
}
