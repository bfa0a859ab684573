/**
 * Labels (a node's name, shown beside its key) come from other machines and end up on terminals and
 * web pages. `sanitizeLabel` makes any text safe to show: no control, format or bidi characters (no
 * terminal escapes, no right-to-left overrides that disguise text), no `<` or `>`, whitespace
 * collapsed, at most 64 characters. Places that render HTML still escape it.
 */

export const MAX_LABEL_LENGTH = 64;

const WHITESPACE = /[\s\p{Z}]+/gu;
const UNSAFE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}<>]/gu;

export function sanitizeLabel(text: string): string {
  const clean = text
    .normalize('NFC')
    .replace(WHITESPACE, ' ')
    .replace(UNSAFE, '')
    .replace(/ {2,}/g, ' ')
    .trim();
  return Array.from(clean).slice(0, MAX_LABEL_LENGTH).join('').trim();
}

/** True when `text` is already a clean label (what `init --name` requires). */
export function isCleanLabel(text: string): boolean {
  return text.length > 0 && sanitizeLabel(text) === text;
}
