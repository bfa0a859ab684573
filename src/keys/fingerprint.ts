/**
 * Key fingerprints: `SHA256:` + unpadded base64 of SHA-256 over the SPKI DER of a public key. This
 * is the same text as
 * `openssl pkey -pubin -in X.pub -outform DER | openssl dgst -sha256 -binary | base64 | tr -d =`
 * with `SHA256:` in front (formatted like OpenSSH's, but over SPKI, so not equal to `ssh-keygen -l`).
 */
import { createHash } from 'node:crypto';

export const FINGERPRINT_PREFIX = 'SHA256:';
/** How many characters at the end of a fingerprint a person types to confirm a pairing. */
export const CONFIRM_TAIL_LENGTH = 6;

export function fingerprintOf(spkiDer: Uint8Array): string {
  return FINGERPRINT_PREFIX + createHash('sha256').update(spkiDer).digest('base64').replace(/=+$/, '');
}

/** The fingerprint in groups of four characters, easier to read aloud and compare by eye. */
export function groupFingerprint(fingerprint: string): string {
  const body = fingerprint.startsWith(FINGERPRINT_PREFIX)
    ? fingerprint.slice(FINGERPRINT_PREFIX.length)
    : fingerprint;
  return FINGERPRINT_PREFIX + (body.match(/.{1,4}/g) ?? []).join(' ');
}

/** The last characters of a fingerprint, which a person types to confirm that it matches. */
export function fingerprintTail(fingerprint: string, length = CONFIRM_TAIL_LENGTH): string {
  return fingerprint.slice(-length);
}
