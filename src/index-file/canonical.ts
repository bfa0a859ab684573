/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): object keys sorted by UTF-16 code units, no
 * whitespace, strings and numbers written exactly as ECMAScript's JSON.stringify writes them. This is
 * the form the index signature covers. Written here (about 30 lines) rather than taken from npm: the
 * rules are short, ECMAScript already provides the number and string forms, and the RFC's own
 * examples are the test (test/index-file/canonical.test.ts).
 *
 * The input must be JSON data: plain objects, arrays, well-formed strings, finite numbers, booleans,
 * null. Anything else (undefined, NaN, a lone surrogate, a Map, a cycle) is a programming error and
 * throws a TypeError, never a silently different signature.
 */

/** Deeper than any index can be (JSON_LIMITS.maxDepth is 32); stops cycles. */
const MAX_DEPTH = 64;

export function canonicalJson(value: unknown): string {
  return write(value, 0);
}

function write(value: unknown, depth: number): string {
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} is not a JSON number`);
      return JSON.stringify(value);
    case 'string':
      return writeString(value);
    case 'object': {
      if (value === null) return 'null';
      if (depth >= MAX_DEPTH)
        throw new TypeError(`canonicalJson: nested deeper than ${MAX_DEPTH} (a cycle?)`);
      if (Array.isArray(value)) {
        const items: string[] = [];
        for (let k = 0; k < value.length; k++) items.push(write(value[k], depth + 1));
        return `[${items.join(',')}]`;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError(
          'canonicalJson: only plain objects, arrays and JSON primitives can be canonicalized',
        );
      }
      const record = value as Record<string, unknown>;
      const members = Object.keys(record)
        .sort()
        .map((key) => `${writeString(key)}:${write(record[key], depth + 1)}`);
      return `{${members.join(',')}}`;
    }
    default:
      throw new TypeError(`canonicalJson: a ${typeof value} is not JSON data`);
  }
}

function writeString(text: string): string {
  if (!text.isWellFormed()) throw new TypeError('canonicalJson: a string holds a lone surrogate');
  return JSON.stringify(text);
}
