// @ts-check
/**
 * Preloaded with `node --import` into a process: at exit, writes Node's list of the built-in modules
 * and bindings it loaded (`process.moduleLoadList`) to the file named by $AROZDFS_BUILTINS_TRACE, as
 * JSON. Plain JavaScript, so that preloading it does not load the type stripper itself (a .ts
 * preload such as load-trace.ts would).
 */
import { writeFileSync } from 'node:fs';

const out = process.env['AROZDFS_BUILTINS_TRACE'];
if (out !== undefined) {
  process.on('exit', () => {
    writeFileSync(
      out,
      JSON.stringify(
        /** @type {{ moduleLoadList: string[] }} */ (/** @type {unknown} */ (process)).moduleLoadList,
      ),
    );
  });
}
