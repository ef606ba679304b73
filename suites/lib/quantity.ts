// Kubernetes resource quantities ("250m", "128Mi", "1500000n") as plain numbers.

const factors: Record<string, number> = {
  '': 1, n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12,
  Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4,
};

/** A quantity as a number of its base unit (cores for CPU, bytes for memory); NaN when it is not one. */
export function parseQuantity(value: string | undefined): number {
  if (!value) return Number.NaN;
  const match = /^([0-9.]+)([a-zA-Z]*)$/.exec(value.trim());
  if (!match) return Number.NaN;
  const factor = factors[match[2] ?? ''];
  return factor === undefined ? Number.NaN : Number(match[1]) * factor;
}

/** A CPU quantity in millicores; NaN when absent or malformed. */
export const cpuMillis = (value: string | undefined): number => parseQuantity(value) * 1000;

/** A memory quantity in bytes; NaN when absent or malformed. */
export const bytes = (value: string | undefined): number => parseQuantity(value);
