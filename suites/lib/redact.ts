// Secret values never reach a report, a log line or the console. The values of the Secrets
// the release uses are held in memory only, and every text that leaves the suite passes
// through `scrub`.

export const REDACTED = '[REDACTED]';

/** Values shorter than this are not scrubbed: replacing "1" or "on" everywhere would destroy every report. */
export const minSecretLength = 4;

export class Redactor {
  private readonly values = new Set<string>();
  private pattern: RegExp | undefined;
  /** How many values were too short to scrub, for the report's honesty note. */
  tooShort = 0;

  /** Add a secret value; its base64 and URL-encoded forms are scrubbed too. */
  add(value: string | undefined): void {
    if (value === undefined) return;
    const trimmed = value.trim();
    if (trimmed.length < minSecretLength) {
      if (trimmed.length > 0) this.tooShort += 1;
      return;
    }
    const forms = new Set([value, trimmed, Buffer.from(trimmed).toString('base64'), encodeURIComponent(trimmed)]);
    // Connection strings carry a password in the middle; scrub it on its own too.
    try {
      const url = new URL(trimmed);
      if (url.password) forms.add(decodeURIComponent(url.password)).add(url.password);
    } catch {
      // not a URL
    }
    // Multi-line values (keys, certificates) are scrubbed line by line as well, because logs wrap them.
    for (const line of trimmed.split(/\r?\n/)) if (line.trim().length >= minSecretLength * 4) forms.add(line.trim());
    for (const form of forms) if (form.length >= minSecretLength) this.values.add(form);
    this.pattern = undefined;
  }

  /** Add every value of a Secret's `data` (base64) and `stringData`. */
  addSecretData(data: Record<string, string> | undefined, stringData?: Record<string, string>): void {
    for (const encoded of Object.values(data ?? {})) this.add(Buffer.from(encoded, 'base64').toString('utf8'));
    for (const plain of Object.values(stringData ?? {})) this.add(plain);
  }

  get size(): number {
    return this.values.size;
  }

  scrub(text: string): string {
    if (this.values.size === 0 || text.length === 0) return text;
    if (!this.pattern) {
      // Longest first, so a value that contains another is replaced whole.
      const sorted = [...this.values].sort((a, b) => b.length - a.length);
      this.pattern = new RegExp(sorted.map((value) => value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
    }
    return text.replace(this.pattern, REDACTED);
  }

  /** Scrub every string inside a JSON-like value. */
  scrubDeep<T>(value: T): T {
    if (typeof value === 'string') return this.scrub(value) as T;
    if (Array.isArray(value)) return value.map((item) => this.scrubDeep(item)) as T;
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, inner] of Object.entries(value)) out[this.scrub(key)] = this.scrubDeep(inner);
      return out as T;
    }
    return value;
  }
}
