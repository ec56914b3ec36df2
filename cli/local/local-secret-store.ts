/**
 * The local stack's {@link SecretStore}: webhook secrets in a file of its data directory
 * (`webhook-secrets.json`, readable by its owner only), so that subscriptions kept in a kept table
 * still sign after a restart; in memory when no file is given (tests). The secrets of `--webhook`
 * subscriptions are given at start and never written. There is no Secrets Manager here: a
 * subscription that names a secret by ARN is refused with a message that says what to do instead.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { ValidationError } from '../../functions/core/errors.ts';
import type { SecretStore } from '../../functions/core/ports.ts';

/** References of the secrets this store keeps: `local:<name>`. */
const LOCAL = 'local:';

export class LocalSecretStore implements SecretStore {
  private readonly secrets = new Map<string, string>();

  /** @param options.file where secrets made through the API are kept; `fixed`: secrets given at start, by reference. */
  constructor(private readonly options: { file?: string; fixed?: ReadonlyMap<string, string> } = {}) {
    if (options.file && existsSync(options.file)) {
      const stored = JSON.parse(readFileSync(options.file, 'utf8')) as Record<string, string>;
      for (const [ref, value] of Object.entries(stored)) if (typeof value === 'string') this.secrets.set(ref, value);
    }
  }

  async create(name: string, value: string): Promise<string> {
    const ref = `${LOCAL}${name}`;
    this.secrets.set(ref, value);
    this.save();
    return ref;
  }

  async read(ref: string): Promise<string> {
    const value = this.options.fixed?.get(ref) ?? this.secrets.get(ref);
    if (value === undefined) throw new Error(`the local stack has no secret '${ref}'`);
    return value;
  }

  async remove(ref: string): Promise<void> {
    if (this.secrets.delete(ref)) this.save();
  }

  async check(ref: string): Promise<void> {
    if (!ref.startsWith(LOCAL) && !this.options.fixed?.has(ref)) {
      throw new ValidationError(
        "the local stack has no Secrets Manager to read a secret ARN from: give the secret's value instead (CLI: --secret-env VAR; API: \"secret\")",
        'secretArn',
      );
    }
  }

  /** Write the file whole, then move it into place: a crash leaves the old file or the new one. */
  private save(): void {
    const file = this.options.file;
    if (!file) return;
    const temporary = `${file}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(Object.fromEntries(this.secrets), null, 2)}\n`, { mode: 0o600 });
    renameSync(temporary, file);
  }
}
