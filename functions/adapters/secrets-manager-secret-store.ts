/**
 * {@link SecretStore} on AWS Secrets Manager: webhook secrets the api function keeps for a
 * subscription given a secret's value (named `<stackName>/webhooks/<id>`), and the deliver
 * function's reads, cached for a few minutes (a rotated secret is used within that long).
 */
import { CreateSecretCommand, DeleteSecretCommand, DescribeSecretCommand, GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ValidationError } from '../core/errors.ts';
import type { SecretStore } from '../core/ports.ts';

const ARN = /^arn:aws[a-z-]*:secretsmanager:/;

export class SecretsManagerSecretStore implements SecretStore {
  private readonly cache = new Map<string, { value: string; until: number }>();

  /**
   * @param options.readable what the deliver function may read (the api function checks a given
   *   ARN against it): the secrets named with `namePrefix` (this stack's own, one per subscription:
   *   never given by ARN), and those tagged `tag.key` = `tag.value`.
   */
  constructor(private readonly options: { client: SecretsManagerClient; ttlMs?: number; now?: () => number; readable?: { namePrefix: string; tag: { key: string; value: string } } }) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  async create(name: string, value: string): Promise<string> {
    const answer = await this.options.client.send(
      new CreateSecretCommand({ Name: name, SecretString: value, Description: 'promotion-scheduler: the signing secret of a webhook subscription' }),
    );
    if (!answer.ARN) throw new Error(`Secrets Manager created '${name}' but answered no ARN`);
    return answer.ARN;
  }

  async read(ref: string): Promise<string> {
    const cached = this.cache.get(ref);
    if (cached && cached.until > this.now()) return cached.value;
    const answer = await this.options.client.send(new GetSecretValueCommand({ SecretId: ref }));
    if (answer.SecretString === undefined || answer.SecretString === '') throw new Error(`the secret '${ref}' has no SecretString`);
    this.cache.set(ref, { value: answer.SecretString, until: this.now() + (this.options.ttlMs ?? 5 * 60_000) });
    return answer.SecretString;
  }

  async remove(ref: string): Promise<void> {
    this.cache.delete(ref);
    await this.options.client.send(new DeleteSecretCommand({ SecretId: ref, RecoveryWindowInDays: 7 }));
  }

  async check(ref: string): Promise<void> {
    if (!ARN.test(ref)) throw new ValidationError(`'${ref}' is not a Secrets Manager ARN`, 'secretArn');
    const readable = this.options.readable;
    if (!readable) return;
    const name = ref.slice(ref.indexOf(':secret:') + ':secret:'.length);
    // The secrets this stack keeps for its own subscriptions are not to be shared by another.
    if (name.startsWith(readable.namePrefix)) {
      throw new ValidationError(`'${ref}' is a secret this stack keeps for another subscription; give your own (tag it ${readable.tag.key}=${readable.tag.value}) or the value`, 'secretArn');
    }
    const { key, value } = readable.tag;
    const advice = `tag it ${key}=${value}`;
    let tags: { Key?: string; Value?: string }[];
    try {
      tags = (await this.options.client.send(new DescribeSecretCommand({ SecretId: ref }))).Tags ?? [];
    } catch (error) {
      const code = (error as { name?: string }).name;
      if (code === 'ResourceNotFoundException') throw new ValidationError(`the secret '${ref}' does not exist`, 'secretArn');
      // The api function may describe only the secrets tagged for its stack.
      if (code === 'AccessDeniedException') throw new ValidationError(`this stack's deliverer cannot read the secret '${ref}': ${advice}`, 'secretArn');
      throw error;
    }
    if (!tags.some((t) => t.Key === key && t.Value === value)) throw new ValidationError(`this stack's deliverer cannot read the secret '${ref}': ${advice}`, 'secretArn');
  }
}
