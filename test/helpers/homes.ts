/**
 * Node homes for tests. Making one costs an RSA key (up to 0.5 s), so a file makes a template once
 * (in `before`) and each test that changes a home works on its own copy.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, type TestContext } from 'node:test';
import { initHome } from '../../src/home/init.ts';
import { tmpDir } from './context.ts';

export interface HomeTemplate {
  /** The template itself (do not change it). */
  readonly path: string;
  /** A private copy for one test, removed after it. */
  copy(t: TestContext): Promise<string>;
}

/** Call at the top level of a test file: registers the hooks that make and remove the template. */
export function homeTemplate(name = 'alpha'): HomeTemplate {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'arozdfs-template-'));
    await initHome(join(dir, 'home'), { name });
  });
  after(() => rm(dir, { recursive: true, force: true }));
  return {
    get path() {
      return join(dir, 'home');
    },
    async copy(t: TestContext) {
      const home = join(await tmpDir(t), 'home');
      await cp(join(dir, 'home'), home, { recursive: true, preserveTimestamps: true });
      return home;
    },
  };
}
