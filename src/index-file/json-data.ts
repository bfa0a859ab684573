/**
 * The encoder's mirror of the strict parser: checks that an in-memory value is JSON data the parser
 * would read back unchanged, within the same JSON_LIMITS. encodeIndex runs it first, so arozdfs never
 * writes an index it would refuse to read (an `undefined` that JSON.stringify drops, a NaN it turns
 * into null, a -0 that reads back as 0, a Date, a lone surrogate, a `__proto__` key, a cycle).
 */
import { ArozError } from '../errors.ts';
import { count, formatPath, quote } from './describe.ts';
import { JSON_LIMITS } from './strict-json.ts';

/** Throws ERR_INDEX_INVALID (or ERR_INDEX_TOO_LARGE for the size limits) naming the first bad value. */
export function assertJsonData(value: unknown, subject = 'Index'): void {
  new Checker(subject).check(value);
}

class Checker {
  #subject: string;
  #path: (string | number)[] = [];
  #values = 0;

  constructor(subject: string) {
    this.#subject = subject;
  }

  check(value: unknown): void {
    if (++this.#values > JSON_LIMITS.maxValues) {
      this.#fail(`holds more than ${count(JSON_LIMITS.maxValues)} JSON values`, 'ERR_INDEX_TOO_LARGE');
    }
    switch (typeof value) {
      case 'boolean':
        return;
      case 'number':
        if (!Number.isFinite(value) || Object.is(value, -0))
          this.#fail(`is ${value}, which JSON cannot hold`);
        return;
      case 'string':
        this.#checkString(value, JSON_LIMITS.maxStringLength, 'string');
        return;
      case 'object':
        if (value === null) return;
        if (this.#path.length >= JSON_LIMITS.maxDepth) {
          this.#fail(`nests arrays and objects deeper than ${JSON_LIMITS.maxDepth} levels`);
        }
        if (Array.isArray(value)) this.#checkArray(value);
        else this.#checkObject(value);
        return;
      default:
        this.#fail(`is ${value === undefined ? 'undefined' : `a ${typeof value}`}, which JSON cannot hold`);
    }
  }

  #checkArray(array: unknown[]): void {
    if (array.length > JSON_LIMITS.maxArrayLength) {
      this.#fail(`has more than ${count(JSON_LIMITS.maxArrayLength)} entries`, 'ERR_INDEX_TOO_LARGE');
    }
    this.#path.push(0);
    for (let k = 0; k < array.length; k++) {
      this.#path[this.#path.length - 1] = k;
      if (!(k in array)) this.#fail('is a hole in an array, which JSON cannot hold');
      this.check(array[k]);
    }
    this.#path.pop();
  }

  #checkObject(object: object): void {
    const proto = Object.getPrototypeOf(object);
    if (proto !== Object.prototype && proto !== null) {
      this.#fail(`is a ${proto?.constructor?.name ?? 'special'} object, not a plain object`);
    }
    for (const key of Object.keys(object)) {
      this.#checkString(key, JSON_LIMITS.maxKeyLength, 'key');
      if (key === '__proto__') this.#fail('has a "__proto__" key, which is refused');
      this.#path.push(key);
      this.check((object as Record<string, unknown>)[key]);
      this.#path.pop();
    }
  }

  #checkString(text: string, maxLength: number, what: 'string' | 'key'): void {
    if (text.length > maxLength) this.#fail(`has a ${what} longer than ${count(maxLength)} characters`);
    if (!text.isWellFormed()) this.#fail(`has a lone surrogate (half of a UTF-16 pair) in a ${what}`);
  }

  #fail(what: string, code: 'ERR_INDEX_INVALID' | 'ERR_INDEX_TOO_LARGE' = 'ERR_INDEX_INVALID'): never {
    const where = this.#path.length === 0 ? '' : ` ${quote(formatPath(this.#path))}`;
    throw new ArozError(code, `${this.#subject}${where} ${what}`);
  }
}
