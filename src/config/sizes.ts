/**
 * Byte sizes as people write them: `16777216`, `16MiB`, `512KiB`, `1MB`, `4m`.
 * IEC suffixes (KiB, MiB, GiB) are powers of 1024 and SI suffixes (KB, MB, GB) powers of
 * 1000; a bare letter (`k`, `m`, `g`, as in `ulimit`/`docker --memory`) means 1024ⁿ.
 */
const MULTIPLIERS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kib: 1024,
  kb: 1000,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  mb: 1000 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  gb: 1000 ** 3,
};

/** Bytes, or undefined when `text` is not a size. Fractions are allowed with a suffix and rounded down. */
export function parseByteSize(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isSafeInteger(text) && text >= 0 ? text : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  if (!match) return undefined;
  const multiplier = MULTIPLIERS[match[2]!.toLowerCase()];
  if (multiplier === undefined) return undefined;
  if (multiplier === 1 && match[1]!.includes('.')) return undefined;
  const bytes = Math.floor(Number(match[1]) * multiplier);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** 16777216 → "16 MiB"; for help texts and messages. */
export function formatBytes(bytes: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} bytes`;
}
