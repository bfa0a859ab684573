/**
 * Who may use the web UI: one admin password, set only with the one-time setup token that `serve`
 * prints; logged-in sessions (in memory) each with their own CSRF token; a failed-attempt limit per
 * client address. The password is kept as a scrypt hash in `ADDC/web-admin.json` (0600).
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../durable/index.ts';
import { ArozError, fromSystemError } from '../errors.ts';
import { addcPaths, FILE_MODE } from '../home/paths.ts';

export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 1024;
export const SESSION_MS = 12 * 60 * 60 * 1000;
const MAX_SESSIONS = 64;
/** Failed attempts (logins, setup tokens, re-entered passwords) per address per window. */
export const MAX_FAILURES = 5;
export const FAILURE_WINDOW_MS = 5 * 60 * 1000;
const MAX_TRACKED_ADDRESSES = 4096;

const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
const KEY_LENGTH = 32;

interface PasswordFile {
  version: 1;
  scheme: 'scrypt';
  N: number;
  r: number;
  p: number;
  salt: string;
  hash: string;
  setAt: string;
}

export interface Session {
  id: string;
  csrf: string;
  expires: number;
}

function derive(
  password: string,
  salt: Buffer,
  params: { N: number; r: number; p: number },
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LENGTH, { ...params, maxmem: SCRYPT.maxmem }, (err, key) =>
      err === null ? resolve(key) : reject(err),
    );
  });
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

function token(): string {
  return randomBytes(32).toString('base64url');
}

export class WebAuth {
  readonly path: string;
  #password: PasswordFile | undefined;
  #setupToken: string | undefined;
  #sessions = new Map<string, Session>();
  #failures = new Map<string, number[]>();
  #now: () => number;

  private constructor(path: string, password: PasswordFile | undefined, now: () => number) {
    this.path = path;
    this.#password = password;
    this.#now = now;
    if (password === undefined) this.#setupToken = token();
  }

  /** Reads `ADDC/web-admin.json` (absent: no password yet, and a fresh setup token is made). */
  static async open(addc: string, options: { now?: () => number } = {}): Promise<WebAuth> {
    const path = addcPaths(addc).webAdmin;
    let password: PasswordFile | undefined;
    try {
      const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<PasswordFile>;
      if (
        parsed.scheme !== 'scrypt' ||
        typeof parsed.salt !== 'string' ||
        typeof parsed.hash !== 'string' ||
        ![parsed.N, parsed.r, parsed.p].every((n) => Number.isSafeInteger(n) && (n as number) > 0) ||
        (parsed.N as number) > 2 ** 20
      ) {
        throw new ArozError('ERR_HOME_INVALID', `"${path}" is not a web password file`);
      }
      password = parsed as PasswordFile;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        if (err instanceof ArozError) throw err;
        if (err instanceof SyntaxError) {
          throw new ArozError('ERR_HOME_INVALID', `"${path}" is not valid JSON`, { cause: err });
        }
        throw fromSystemError(err, `Cannot read "${path}"`);
      }
    }
    return new WebAuth(path, password, options.now ?? Date.now);
  }

  get passwordSet(): boolean {
    return this.#password !== undefined;
  }

  /** The one-time setup token while no password is set (serve prints it), else undefined. */
  get setupToken(): string | undefined {
    return this.#setupToken;
  }

  /** Throws ERR_WEB_RATE_LIMITED while `client` has used up its failed attempts. */
  checkRate(client: string): void {
    const now = this.#now();
    const recent = (this.#failures.get(client) ?? []).filter((t) => now - t < FAILURE_WINDOW_MS);
    if (recent.length >= MAX_FAILURES) {
      const wait = Math.ceil((recent[0]! + FAILURE_WINDOW_MS - now) / 1000);
      throw new ArozError('ERR_WEB_RATE_LIMITED', `Too many failed attempts from ${client}: wait ${wait} s`, {
        retryAfter: wait,
      });
    }
  }

  /** Counts a failed (or not yet judged) attempt; returns its mark. */
  #fail(client: string): number {
    const now = this.#now();
    const recent = (this.#failures.get(client) ?? []).filter((t) => now - t < FAILURE_WINDOW_MS);
    recent.push(now);
    this.#failures.delete(client);
    this.#failures.set(client, recent);
    if (this.#failures.size > MAX_TRACKED_ADDRESSES) {
      const oldest = this.#failures.keys().next().value;
      if (oldest !== undefined) this.#failures.delete(oldest);
    }
    return now;
  }

  /** Takes back an attempt counted by #fail (it succeeded). */
  #forgive(client: string, mark: number): void {
    const marks = this.#failures.get(client);
    const at = marks?.indexOf(mark) ?? -1;
    if (marks !== undefined && at >= 0) marks.splice(at, 1);
  }

  /** Sets the first password with the setup token; returns a new session. */
  async setup(client: string, setupToken: unknown, password: unknown): Promise<Session> {
    this.checkRate(client);
    if (this.#password !== undefined) {
      throw new ArozError('ERR_WEB_PASSWORD_SET', 'The web UI already has an admin password');
    }
    if (
      typeof setupToken !== 'string' ||
      this.#setupToken === undefined ||
      !sameText(setupToken.trim(), this.#setupToken)
    ) {
      this.#fail(client);
      throw new ArozError('ERR_WEB_SETUP_TOKEN', 'The setup token is wrong (serve printed it at start)');
    }
    const text = checkNewPassword(password);
    this.#setupToken = undefined; // used once, even if writing the file fails below
    await this.#store(text);
    return this.#newSession();
  }

  /**
   * Replaces the password (the caller checked the current one): every session ends, and the new
   * session returned is the only one.
   */
  async changePassword(password: unknown): Promise<Session> {
    await this.#store(checkNewPassword(password));
    this.#sessions.clear();
    return this.#newSession();
  }

  async #store(text: string): Promise<void> {
    const salt = randomBytes(16);
    const hash = await derive(text, salt, SCRYPT);
    const file: PasswordFile = {
      version: 1,
      scheme: 'scrypt',
      N: SCRYPT.N,
      r: SCRYPT.r,
      p: SCRYPT.p,
      salt: salt.toString('base64'),
      hash: hash.toString('base64'),
      setAt: new Date(this.#now()).toISOString(),
    };
    await writeFileAtomic(this.path, `${JSON.stringify(file, null, 2)}\n`, {
      mode: FILE_MODE,
      overwrite: true,
    });
    this.#password = file;
  }

  /**
   * Checks the admin password (login and re-authentication). An attempt counts toward the limit from
   * its start (so attempts sent at once cannot all slip under it) and is taken back if it succeeds.
   */
  async verify(client: string, password: unknown): Promise<void> {
    this.checkRate(client);
    const file = this.#password;
    if (file === undefined) throw new ArozError('ERR_WEB_LOGIN_REQUIRED', 'No admin password is set yet');
    const mark = this.#fail(client);
    const ok =
      typeof password === 'string' &&
      password.length <= MAX_PASSWORD_LENGTH &&
      timingSafeEqual(
        await derive(password, Buffer.from(file.salt, 'base64'), file),
        Buffer.from(file.hash, 'base64'),
      );
    if (!ok) throw new ArozError('ERR_WEB_PASSWORD', 'The admin password is wrong');
    this.#forgive(client, mark);
  }

  async login(client: string, password: unknown): Promise<Session> {
    await this.verify(client, password);
    return this.#newSession();
  }

  #newSession(): Session {
    const now = this.#now();
    for (const [id, s] of this.#sessions) if (s.expires <= now) this.#sessions.delete(id);
    while (this.#sessions.size >= MAX_SESSIONS) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest === undefined) break;
      this.#sessions.delete(oldest);
    }
    const session = { id: token(), csrf: token(), expires: now + SESSION_MS };
    this.#sessions.set(session.id, session);
    return session;
  }

  /** The live session with this id, if any. */
  session(id: string | undefined): Session | undefined {
    if (id === undefined) return undefined;
    const session = this.#sessions.get(id);
    if (session === undefined) return undefined;
    if (session.expires <= this.#now()) {
      this.#sessions.delete(id);
      return undefined;
    }
    return session;
  }

  logout(id: string): void {
    this.#sessions.delete(id);
  }

  /** Constant-time CSRF check. */
  static csrfMatches(session: Session, sent: string | undefined): boolean {
    return sent !== undefined && sameText(sent, session.csrf);
  }
}

/** A new password: a string of 10 to 1024 characters. */
function checkNewPassword(password: unknown): string {
  if (
    typeof password !== 'string' ||
    password.length < MIN_PASSWORD_LENGTH ||
    password.length > MAX_PASSWORD_LENGTH
  ) {
    throw new ArozError(
      'ERR_BAD_REQUEST',
      `The password must have ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`,
    );
  }
  return password;
}
