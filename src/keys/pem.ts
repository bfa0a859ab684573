/**
 * Strict PEM for public keys: exactly one `PUBLIC KEY` (SPKI) block, no headers, nothing around it
 * except whitespace and invisible format characters. Node's own parser is lenient (it takes a private
 * key or a certificate where a public key is expected, and trailing bytes after the DER); this one is
 * not.
 */
import { ArozError, type ErrorCode } from '../errors.ts';

/** Whitespace and invisible format characters (BOM, zero-width, bidi controls, soft hyphen …). */
export const INVISIBLE = /[\s\p{Cf}\p{Z}]+/gu;

const BEGIN = /-----BEGIN([A-Z0-9]*)-----/g;
const SPKI_BLOCK = /^-----BEGINPUBLICKEY-----([A-Za-z0-9+/]+={0,2})-----ENDPUBLICKEY-----$/;

/** Wraps DER as PEM with 64-character lines. */
export function pemOf(der: Uint8Array, label: string): string {
  const body =
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${body.join('\n')}\n-----END ${label}-----\n`;
}

/** True when the text looks like a PEM block (after removing whitespace). */
export function looksLikePem(text: string): boolean {
  return text.replace(INVISIBLE, '').includes('-----BEGIN');
}

/**
 * Returns the DER inside one SPKI PEM block. `what` names the source in errors (a quoted path, or
 * "The pasted key"); `code` is the error code for a malformed block.
 */
export function spkiDerFromPem(text: string, what: string, code: ErrorCode = 'ERR_KEY_INVALID'): Buffer {
  const compact = text.replace(INVISIBLE, '');
  const labels = [...compact.matchAll(BEGIN)].map((m) => m[1] ?? '');
  if (labels.length === 0) throw new ArozError(code, `${what} is not a PEM block (no "-----BEGIN" line)`);
  if (labels.length > 1)
    throw new ArozError(code, `${what} holds ${labels.length} PEM blocks; give exactly one`);
  const label = labels[0] ?? '';
  if (label.includes('PRIVATEKEY')) {
    throw new ArozError(
      code,
      `${what} is a PRIVATE key: never copy it anywhere; use the public key that "arozdfs keys show" prints`,
    );
  }
  if (label !== 'PUBLICKEY') {
    throw new ArozError(code, `${what} is a "${label}" PEM block, not a "PUBLIC KEY" block`);
  }
  const match = SPKI_BLOCK.exec(compact);
  if (match === null) {
    const why =
      compact.indexOf('-----BEGIN') > 0
        ? 'there is text before "-----BEGIN"'
        : /[:,]/.test(compact)
          ? 'it has PEM headers'
          : 'it is truncated or has text after "-----END"';
    throw new ArozError(code, `${what} is not a valid PEM public key: ${why}`);
  }
  const b64 = match[1] ?? '';
  const der = Buffer.from(b64, 'base64');
  if (der.toString('base64') !== b64) {
    throw new ArozError(code, `${what} is not a valid PEM public key: its base64 is damaged`);
  }
  return der;
}
