/**
 * The benchmarks' command lines: Node's `parseArgs`, plus `--help` (the options and their defaults)
 * and one line naming a wrong option or value (exit 2) where `parseArgs`, `Number` or `parseSize`
 * would end in a stack trace or a run with NaN.
 */
import { basename } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { isArozError } from '../src/errors.ts';
import { parseSize } from '../src/size.ts';

const script = `node bench/${basename(process.argv[1] ?? 'bench')}`;

function usageError(message: string): never {
  console.error(`${script}: ${message} (--help lists the options)`);
  process.exit(2);
}

/** The number given as `--name` (at least `min`; a whole number unless `fraction`), else exit 2. */
export function numberArg(
  value: string | undefined,
  name: string,
  { min = 1, fraction = false }: { min?: number; fraction?: boolean } = {},
): number {
  const n = Number(value);
  if (
    value === undefined ||
    value.trim() === '' ||
    !Number.isFinite(n) ||
    n < min ||
    (!fraction && !Number.isInteger(n))
  ) {
    usageError(
      `--${name} "${value ?? ''}" is not a ${fraction ? 'number' : 'whole number'} of at least ${min}`,
    );
  }
  return n;
}

/** The size given as `--name` (4096, 64KiB, 1GiB…), else exit 2. */
export function sizeArg(value: string | undefined, name: string): number {
  try {
    return parseSize(value ?? '', `--${name}`);
  } catch (err) {
    if (!isArozError(err, 'ERR_INVALID_SIZE')) throw err;
    return usageError(err.message);
  }
}

export function benchArgs<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    const parsed = parseArgs({ ...config, options: { ...config.options, help: { type: 'boolean' } } });
    if ((parsed.values as Record<string, unknown>)['help'] === true) {
      const lines = Object.entries(config.options ?? {}).map(([name, option]) => {
        const value = option.type === 'string' ? ` ${name.toUpperCase().replaceAll('-', '_')}` : '';
        const shown = option.default === undefined ? '' : `  (default ${String(option.default)})`;
        return `  --${name}${value}${option.multiple === true ? ' (repeatable)' : ''}${shown}`;
      });
      console.log(`Usage: ${script} [options]\nOptions:\n${lines.join('\n')}`);
      process.exit(0);
    }
    return parsed as ReturnType<typeof parseArgs<T>>;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS')) throw err;
    return usageError((err as Error).message.replaceAll('\n', ' '));
  }
}
