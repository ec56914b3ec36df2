import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../functions/core/errors.ts';
import { parseCli, resolveTime, secretFromEnvironment, UsageError, type WebhookAddCommand } from '../../../cli/operator.ts';

const NOW = new Date('2026-11-27T10:00:00.000Z');

/** The UsageError parseCli throws for `argv`. */
function usageError(argv: string[]): UsageError {
  try {
    parseCli(argv);
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error(`parseCli(${JSON.stringify(argv)}) did not throw`);
}

describe('parseCli', () => {
  describe('commands', () => {
    it('parses schedule with repeated sources in the order given', () => {
      // Act
      const parsed = parseCli([
        'schedule', '--target', 'main', '--source', 'feature/b', '--source', 'feature/a', '--at', '+5m', '--id', 'release-42', '--repo', '/srv/app',
      ]);
      // Assess
      expect(parsed).toEqual({
        command: { name: 'schedule', targetBranch: 'main', sources: ['feature/b', 'feature/a'], at: '+5m', id: 'release-42', repo: '/srv/app' },
        json: false,
        stack: {},
      });
    });

    it('accepts --option=value and options before the command', () => {
      const parsed = parseCli(['--json', '--data-dir=/tmp/stack', 'show', 'g1']);
      expect(parsed).toEqual({ command: { name: 'show', id: 'g1' }, json: true, stack: { dataDir: '/tmp/stack' } });
    });

    it('parses list without --status as every status, and repeated or comma-separated statuses', () => {
      expect(parseCli(['list']).command).toEqual({ name: 'list', statuses: [] });
      expect(parseCli(['list', '--status', 'Scheduled,Queued', '--status', 'Failed']).command).toEqual({
        name: 'list',
        statuses: ['Scheduled', 'Queued', 'Failed'],
      });
    });

    it('parses cancel with and without a reason', () => {
      expect(parseCli(['cancel', 'g1']).command).toEqual({ name: 'cancel', id: 'g1' });
      expect(parseCli(['cancel', 'g1', '--reason', 'release postponed']).command).toEqual({ name: 'cancel', id: 'g1', reason: 'release postponed' });
    });

    it('parses reschedule and retry (whose --at is optional)', () => {
      expect(parseCli(['reschedule', 'g1', '--at', '2026-11-27T18:00:00+01:00']).command).toEqual({
        name: 'reschedule',
        id: 'g1',
        at: '2026-11-27T18:00:00+01:00',
      });
      expect(parseCli(['retry', 'g1']).command).toEqual({ name: 'retry', id: 'g1' });
      expect(parseCli(['retry', 'g1', '--at', '+1m']).command).toEqual({ name: 'retry', id: 'g1', at: '+1m' });
    });

    it("parses dlq list (default limit 100, at most the API's 1000) and dlq redrive", () => {
      expect(parseCli(['dlq', 'list']).command).toEqual({ name: 'dlq list', limit: 100 });
      expect(parseCli(['dlq', 'list', '--limit', '5']).command).toEqual({ name: 'dlq list', limit: 5 });
      expect(parseCli(['dlq', 'list', '--limit', '1000']).command).toEqual({ name: 'dlq list', limit: 1000 });
      expect(parseCli(['dlq', 'redrive']).command).toEqual({ name: 'dlq redrive' });
    });

    it('parses lanes, and the lane commands with --target and --repo as given', () => {
      expect(parseCli(['lanes', '--json'])).toEqual({ command: { name: 'lanes' }, json: true, stack: {} });
      expect(parseCli(['lane', 'show', '--target', 'main']).command).toEqual({ name: 'lane show', targetBranch: 'main' });
      expect(parseCli(['lane', 'resume', '--target', 'release/1.x', '--repo', 'repos/app']).command).toEqual({
        name: 'lane resume',
        targetBranch: 'release/1.x',
        repo: 'repos/app',
      });
      expect(parseCli(['lane', 'pause', '--target', 'main', '--reason', 'release freeze']).command).toEqual({
        name: 'lane pause',
        targetBranch: 'main',
        reason: 'release freeze',
      });
    });

    it('parses lane set with either policy or both', () => {
      expect(parseCli(['lane', 'set', '--target', 'main', '--overlap', 'skip']).command).toEqual({ name: 'lane set', targetBranch: 'main', overlapPolicy: 'skip' });
      expect(parseCli(['lane', 'set', '--target', 'main', '--on-failure', 'pause']).command).toEqual({ name: 'lane set', targetBranch: 'main', onFailure: 'pause' });
      expect(parseCli(['lane', 'set', '--target', 'main', '--repo', '/srv/app', '--overlap', 'parallel', '--on-failure', 'continue']).command).toEqual({
        name: 'lane set',
        targetBranch: 'main',
        repo: '/srv/app',
        overlapPolicy: 'parallel',
        onFailure: 'continue',
      });
    });

    it('parses webhook add with the secret by environment variable or ARN, the filters as given, --type repeated in order', () => {
      expect(parseCli(['webhook', 'add', '--url', 'https://hooks.example.com/a', '--secret-env', 'HOOK_SECRET']).command).toEqual({
        name: 'webhook add',
        url: 'https://hooks.example.com/a',
        secret: { env: 'HOOK_SECRET' },
      });
      expect(
        parseCli([
          'webhook', 'add', '--url', 'https://hooks.example.com/a', '--secret-arn', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:x', '--repo', 'repos/app',
          '--target', 'main', '--type', 'promotion-group.failed.v1', '--type', '*.conflicted.*', '--json',
        ]),
      ).toEqual({
        command: {
          name: 'webhook add',
          url: 'https://hooks.example.com/a',
          secret: { arn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:x' },
          repo: 'repos/app',
          targetBranch: 'main',
          types: ['promotion-group.failed.v1', '*.conflicted.*'],
        },
        json: true,
        stack: {},
      });
    });

    it('parses webhook list and webhook remove ID', () => {
      expect(parseCli(['webhook', 'list', '--json'])).toEqual({ command: { name: 'webhook list' }, json: true, stack: {} });
      expect(parseCli(['webhook', 'remove', 'wh-0123456789ab']).command).toEqual({ name: 'webhook remove', id: 'wh-0123456789ab' });
    });

    it('parses schedule --ignore-freeze, and leaves it out when not given', () => {
      expect(parseCli(['schedule', '--target', 'main', '--source', 'hotfix/a', '--at', 'now', '--ignore-freeze']).command).toEqual({
        name: 'schedule',
        targetBranch: 'main',
        sources: ['hotfix/a'],
        at: 'now',
        ignoreFreeze: true,
      });
      expect(parseCli(['schedule', '--target', 'main', '--source', 'a', '--at', 'now']).command).not.toHaveProperty('ignoreFreeze');
    });

    it('parses freeze add: a one-off window with its times as typed (resolved when it runs), --tz, --target and --repo', () => {
      expect(
        parseCli(['freeze', 'add', '--from', '+1h', '--until', '2026-12-27T00:00:00+01:00', '--tz', 'Europe/Berlin', '--target', 'main', '--repo', 'repos/app', '--reason', 'Christmas freeze', '--json']),
      ).toEqual({
        command: { name: 'freeze add', window: { from: '+1h', until: '2026-12-27T00:00:00+01:00' }, tz: 'Europe/Berlin', targetBranch: 'main', repo: 'repos/app', reason: 'Christmas freeze' },
        json: true,
        stack: {},
      });
    });

    it('parses freeze add: a weekly window in its zone, for every lane or one target branch', () => {
      expect(parseCli(['freeze', 'add', '--weekly', 'Fri 16:00-Mon 08:00', '--tz', 'Europe/Berlin', '--reason', 'no weekend releases']).command).toEqual({
        name: 'freeze add',
        window: { weekly: 'Fri 16:00-Mon 08:00' },
        tz: 'Europe/Berlin',
        reason: 'no weekend releases',
      });
      expect(parseCli(['freeze', 'add', '--weekly', 'Sat 00:00-Sun 23:59', '--tz', 'UTC', '--target', 'release', '--reason', 'r']).command).toMatchObject({ targetBranch: 'release' });
    });

    it('parses freeze list and freeze remove ID', () => {
      expect(parseCli(['freeze', 'list', '--json'])).toEqual({ command: { name: 'freeze list' }, json: true, stack: {} });
      expect(parseCli(['freeze', 'remove', 'fz-0123456789']).command).toEqual({ name: 'freeze remove', id: 'fz-0123456789' });
      expect(parseCli(['freeze', 'add', '--help']).command).toEqual({ name: 'help', topic: 'freeze add' });
    });

    it('parses console with --port, 4020 without it, on a deployed stack', () => {
      expect(parseCli(['console', '--stack-name', 'prod'])).toEqual({ command: { name: 'console', port: 4020 }, json: false, stack: { stackName: 'prod' } });
      expect(parseCli(['console', '--stack-name', 'prod', '--port', '0']).command).toEqual({ name: 'console', port: 0 });
      expect(parseCli(['console', '--port', '65535', '--api-url', 'https://x.example/prod', '--region', 'eu-west-1']).command).toEqual({ name: 'console', port: 65535 });
    });

    it('parses --help alone, after a command and as `help COMMAND`', () => {
      expect(parseCli(['--help']).command).toEqual({ name: 'help' });
      expect(parseCli(['-h']).command).toEqual({ name: 'help' });
      expect(parseCli(['show', '--help']).command).toEqual({ name: 'help', topic: 'show' });
      expect(parseCli(['dlq', 'redrive', '--help']).command).toEqual({ name: 'help', topic: 'dlq redrive' });
      expect(parseCli(['help', 'dlq', 'list']).command).toEqual({ name: 'help', topic: 'dlq list' });
      expect(parseCli(['lane', 'set', '--help']).command).toEqual({ name: 'help', topic: 'lane set' });
      expect(parseCli(['help', 'lanes']).command).toEqual({ name: 'help', topic: 'lanes' });
    });
  });

  describe('stack options', () => {
    it('takes --stack-name with --region, and --api-url beside it', () => {
      expect(parseCli(['list', '--stack-name', 'prod', '--region', 'eu-west-1']).stack).toEqual({ stackName: 'prod', region: 'eu-west-1' });
      expect(parseCli(['list', '--stack-name', 'prod', '--api-url', 'https://scheduler.example.com']).stack).toEqual({
        stackName: 'prod',
        apiUrl: 'https://scheduler.example.com',
      });
    });

    it('takes --api-url alone (without its trailing /) or over a local stack', () => {
      expect(parseCli(['list', '--api-url', 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod/', '--region', 'eu-west-1']).stack).toEqual({
        apiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod',
        region: 'eu-west-1',
      });
      expect(parseCli(['list', '--data-dir', '.local', '--api-url', 'http://127.0.0.1:4010']).stack).toEqual({ dataDir: '.local', apiUrl: 'http://127.0.0.1:4010' });
      expect(parseCli(['dlq', 'redrive', '--api-url', 'https://scheduler.example.com', '--region', 'eu-west-1']).stack).toEqual({
        apiUrl: 'https://scheduler.example.com',
        region: 'eu-west-1',
      });
    });

    it.each([
      [['list', '--data-dir', '.local', '--stack-name', 'prod'], /^--data-dir names a local stack and --stack-name an AWS one; pass one or the other$/],
      [['list', '--region', 'eu-west-1'], /--region applies to AWS targets/],
      [['list', '--data-dir', '.local', '--api-url', 'http://127.0.0.1:4010', '--region', 'eu-west-1'], /--region applies to AWS targets/],
      [['list', '--api-url', 'abc123.execute-api.eu-west-1.amazonaws.com'], /--api-url 'abc123\.execute-api\.eu-west-1\.amazonaws\.com' is not the API's base URL/],
      [['list', '--api-url', 'https://x.example.com/prod?stage=1'], /is not the API's base URL; give an http\(s\) URL without query/],
      [['list', '--api-url', 'ftp://x.example.com'], /is not the API's base URL/],
      [['list', '--table', 'T'], /^unknown option '--table'$/],
      [['list', '--shard-count', '8'], /^unknown option '--shard-count'$/],
      // The dlq commands go through the API: no queue is named on the command line any more.
      [['dlq', 'list', '--dlq-url', 'https://q/dlq'], /^unknown option '--dlq-url'$/],
      [['dlq', 'redrive', '--queue-url', 'https://q/work'], /^unknown option '--queue-url'$/],
    ])('refuses %j', (argv, message) => {
      expect(usageError(argv).message).toMatch(message);
    });
  });

  describe('usage errors', () => {
    it.each([
      [[], /^no command given$/],
      [['frobnicate'], /^unknown command 'frobnicate'$/],
      [['dlq'], /dlq needs a subcommand/],
      [['dlq', 'purge'], /unknown command 'dlq purge'/],
      [['help', 'nope'], /unknown command 'nope'/],
      [['list', '--frob'], /^unknown option '--frob'$/],
      [['show', 'g1', '--at'], /^option --at needs a value$/],
      [['list', '--json=yes'], /^option --json takes no value$/],
      [['show'], /'show' needs ID/],
      [['show', 'a', 'b'], /unexpected argument 'b' for 'show'/],
      [['show', 'g1', '--target', 'main'], /option --target does not apply to 'show'/],
      [['list', '--at', '+5m'], /option --at does not apply to 'list'/],
      [['schedule', '--source', 'a', '--at', '+5m'], /'schedule' needs --target BRANCH/],
      [['schedule', '--target', 'main', '--at', '+5m'], /'schedule' needs at least one --source REF/],
      [['schedule', '--target', 'main', '--source', 'a'], /'schedule' needs --at TIME/],
      [['reschedule', 'g1'], /'reschedule' needs --at TIME/],
      [['console', '--port', '65536'], /^--port '65536' is not a port number from 0 to 65535$/],
      [['console', '--port', 'http'], /^--port 'http' is not a port number from 0 to 65535$/],
      [['console', 'prod'], /unexpected argument 'prod' for 'console'/],
      [['list', '--port', '1'], /option --port does not apply to 'list'/],
      [['dlq', 'list', '--limit', 'ten'], /^--limit 'ten' is not a whole number from 1 to 1000$/],
      [['dlq', 'list', '--limit', '0'], /^--limit '0' is not a whole number from 1 to 1000$/],
      [['dlq', 'list', '--limit', '1001'], /^--limit '1001' is not a whole number from 1 to 1000$/],
      [['dlq', 'redrive', '--limit', '5'], /option --limit does not apply to 'dlq redrive'/],
      [['lane'], /^lane needs a subcommand: 'lane show', 'lane pause', 'lane resume' or 'lane set'$/],
      [['lane', 'list'], /^unknown command 'lane list'; use 'lane show', 'lane pause', 'lane resume' or 'lane set'$/],
      [['lanes', 'main'], /unexpected argument 'main' for 'lanes'/],
      [['lanes', '--target', 'main'], /option --target does not apply to 'lanes'/],
      [['lane', 'show'], /^'lane show' needs --target BRANCH$/],
      [['lane', 'resume', '--target', ' '], /^'lane resume' needs --target BRANCH$/],
      [['lane', 'pause', '--target', 'main'], /^'lane pause' needs --reason TEXT$/],
      [['lane', 'show', '--target', 'main', '--reason', 'x'], /option --reason does not apply to 'lane show'/],
      [['lane', 'set', '--target', 'main'], /^'lane set' needs --overlap queue\|skip\|parallel and\/or --on-failure continue\|pause$/],
      [['lane', 'set', '--target', 'main', '--overlap', 'serial'], /^--overlap 'serial' is not one of queue, skip, parallel$/],
      [['lane', 'set', '--target', 'main', '--overlap', 'QUEUE'], /^--overlap 'QUEUE' is not one of queue, skip, parallel$/],
      [['lane', 'set', '--target', 'main', '--on-failure', 'stop'], /^--on-failure 'stop' is not one of continue, pause$/],
      [['lane', 'pause', '--target', 'main', '--reason', 'x', '--overlap', 'skip'], /option --overlap does not apply to 'lane pause'/],
      [['webhook'], /^webhook needs a subcommand: 'webhook add', 'webhook list' or 'webhook remove'$/],
      [['webhook', 'delete', 'wh-1'], /^unknown command 'webhook delete'; use 'webhook add', 'webhook list' or 'webhook remove'$/],
      [['webhook', 'add', '--secret-env', 'S'], /^'webhook add' needs --url URL$/],
      [['webhook', 'add', '--url', 'https://x'], /^'webhook add' needs exactly one of --secret-env VAR \(the environment variable that holds the secret\) and --secret-arn ARN$/],
      [['webhook', 'add', '--url', 'https://x', '--secret-env', 'S', '--secret-arn', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:x'], /^'webhook add' needs exactly one of/],
      [['webhook', 'add', '--url', 'https://x', '--secret-env'], /^option --secret-env needs a value$/],
      [['webhook', 'add', '--url', 'https://x', '--secret', 'S'], /^unknown option '--secret'$/],
      [['webhook', 'add', '--url', 'https://x', '--secret-env', 'S', '--reason', 'r'], /option --reason does not apply to 'webhook add'/],
      [['webhook', 'list', '--type', '*'], /option --type does not apply to 'webhook list'/],
      [['webhook', 'list', 'wh-1'], /unexpected argument 'wh-1' for 'webhook list'/],
      [['webhook', 'remove'], /'webhook remove' needs ID/],
      [['webhook', 'remove', 'wh-1', '--url', 'https://x'], /option --url does not apply to 'webhook remove'/],
      [['list', '--secret-env', 'S'], /option --secret-env does not apply to 'list'/],
      [['freeze'], /^freeze needs a subcommand: 'freeze add', 'freeze list' or 'freeze remove'$/],
      [['freeze', 'show', 'fz-1'], /^unknown command 'freeze show'; use 'freeze add', 'freeze list' or 'freeze remove'$/],
      [['freeze', 'add', '--reason', 'r'], /^'freeze add' needs --from TIME --until TIME \(a one-off freeze\) or --weekly "Ddd HH:MM-Ddd HH:MM" --tz ZONE \(a weekly one\)$/],
      [['freeze', 'add', '--from', '+1h', '--until', '+2h', '--weekly', 'Fri 16:00-Mon 08:00', '--tz', 'UTC', '--reason', 'r'], /^'freeze add' takes --from TIME --until TIME .* or --weekly .*, not both$/],
      [['freeze', 'add', '--until', '+2h', '--weekly', 'Fri 16:00-Mon 08:00', '--tz', 'UTC', '--reason', 'r'], /, not both$/],
      [['freeze', 'add', '--from', '+1h', '--reason', 'r'], /^'freeze add' needs --until TIME with --from: a one-off freeze has both ends$/],
      [['freeze', 'add', '--until', '+1h', '--reason', 'r'], /^'freeze add' needs --from TIME with --until: a one-off freeze has both ends$/],
      [['freeze', 'add', '--weekly', 'Fri 16:00-Mon 08:00', '--reason', 'r'], /^'freeze add --weekly' needs --tz ZONE: the IANA time zone its days and times are in, e.g. --tz Europe\/Berlin$/],
      [['freeze', 'add', '--from', '+1h', '--until', '+2h', '--repo', '/srv/app', '--reason', 'r'], /^'freeze add --repo' needs --target BRANCH: a freeze covers one lane \(--target and --repo\), one target branch in every repository \(--target alone\) or every lane \(neither\)$/],
      [['freeze', 'add', '--from', '+1h', '--until', '+2h'], /^'freeze add' needs --reason TEXT$/],
      [['freeze', 'add', '--from', '+1h', '--until', '+2h', '--reason', ' '], /^'freeze add' needs --reason TEXT$/],
      [['freeze', 'add', '--from', '+1h', '--until', '+2h', '--reason', 'r', '--at', '+1m'], /option --at does not apply to 'freeze add'/],
      [['freeze', 'list', '--tz', 'UTC'], /option --tz does not apply to 'freeze list'/],
      [['freeze', 'remove'], /'freeze remove' needs ID/],
      [['freeze', 'remove', 'fz-1', '--reason', 'r'], /option --reason does not apply to 'freeze remove'/],
      [['list', '--ignore-freeze'], /option --ignore-freeze does not apply to 'list'/],
      [['schedule', '--target', 'main', '--source', 'a', '--at', 'now', '--ignore-freeze=yes'], /^option --ignore-freeze takes no value$/],
    ])('%j → %s', (argv, message) => {
      expect(usageError(argv).message).toMatch(message);
    });

    it('refuses a --secret-env that is no variable name without repeating it: it may be the secret itself', () => {
      // Act
      const error = usageError(['webhook', 'add', '--url', 'https://x', '--secret-env', 'hunter2 is my secret!']);

      // Assess
      expect(error.message).toBe('--secret-env takes the name of the environment variable that holds the secret (letters, digits and _), not the secret; e.g. --secret-env HOOK_SECRET');
      expect(error.command).toBe('webhook add');
    });

    it('names the command whose help to read', () => {
      expect(usageError(['schedule', '--target', 'main']).command).toBe('schedule');
      expect(usageError(['dlq', 'list', '--limit', '1001']).command).toBe('dlq list');
      expect(usageError(['lane', 'set', '--target', 'main', '--on-failure', 'stop']).command).toBe('lane set');
      expect(usageError(['freeze', 'add', '--weekly', 'Fri 16:00-Mon 08:00', '--reason', 'r']).command).toBe('freeze add');
      expect(usageError(['frobnicate']).command).toBeUndefined();
    });
  });
});

describe('resolveTime', () => {
  it.each([
    ['+90s', '2026-11-27T10:01:30.000Z'],
    ['+5m', '2026-11-27T10:05:00.000Z'],
    ['+2h', '2026-11-27T12:00:00.000Z'],
    ['+1d', '2026-11-28T10:00:00.000Z'],
    ['+1h30m', '2026-11-27T11:30:00.000Z'],
    ['+0s', '2026-11-27T10:00:00.000Z'],
    ['now', '2026-11-27T10:00:00.000Z'],
    [' +5m ', '2026-11-27T10:05:00.000Z'],
  ])('resolves relative %j against now', (text, expected) => {
    expect(resolveTime(text, NOW)).toBe(expected);
  });

  it.each([
    ['2026-11-27T12:00:00+02:00', '2026-11-27T10:00:00.000Z'],
    ['2026-11-27T10:00:00Z', '2026-11-27T10:00:00.000Z'],
    ['2026-11-27T10:00Z', '2026-11-27T10:00:00.000Z'],
  ])('normalises absolute %j to UTC', (text, expected) => {
    expect(resolveTime(text, NOW)).toBe(expected);
  });

  it.each(['+5', '+5x', '+m', '+', '+-5m', '+0.5h', '+5 m', '+5M', '++5m'])('refuses the bad relative form %j, saying what is expected', (text) => {
    expect(() => resolveTime(text, NOW)).toThrow(ValidationError);
    expect(() => resolveTime(text, NOW)).toThrow(/is not a relative time; use \+ and a number with a unit s, m, h or d, e\.g\. \+90s, \+5m, \+2h/);
  });

  it('refuses a time without an offset with the message of parseInstant, naming --at', () => {
    expect(() => resolveTime('2026-11-27T10:00:00', NOW)).toThrow(
      "--at '2026-11-27T10:00:00' has no UTC offset; add 'Z' or one like '+02:00' (e.g. 2026-11-27T10:00:00Z), since a time without an offset is ambiguous.",
    );
  });

  it('refuses text that is no time at all, and forms without a sign', () => {
    expect(() => resolveTime('tomorrow', NOW)).toThrow(/--at 'tomorrow' is not an ISO-8601 time/);
    expect(() => resolveTime('5m', NOW)).toThrow(/--at '5m' is not an ISO-8601 time/);
  });

  it('refuses a relative time beyond what a date can hold', () => {
    expect(() => resolveTime('+99999999999999d', NOW)).toThrow(/too far in the future/);
  });
});

describe('secretFromEnvironment', () => {
  const command: WebhookAddCommand = { name: 'webhook add', url: 'https://x', secret: { env: 'HOOK_SECRET' } };

  it('reads the secret from the variable --secret-env names', () => {
    expect(secretFromEnvironment(command, { HOOK_SECRET: 's3cret value' })).toEqual({ secret: 's3cret value' });
  });

  it('passes an ARN on as secretArn, reading nothing', () => {
    expect(secretFromEnvironment({ ...command, secret: { arn: 'arn:x' } }, {})).toEqual({ secretArn: 'arn:x' });
  });

  it.each([
    [{}, "--secret-env HOOK_SECRET: the environment variable HOOK_SECRET is not set; set it to the webhook's secret (e.g. read -rs HOOK_SECRET && export HOOK_SECRET)"],
    [{ HOOK_SECRET: '' }, "--secret-env HOOK_SECRET: the environment variable HOOK_SECRET is empty; set it to the webhook's secret (e.g. read -rs HOOK_SECRET && export HOOK_SECRET)"],
  ])('refuses %j with a usage error naming the variable', (env, message) => {
    expect(() => secretFromEnvironment(command, env)).toThrow(UsageError);
    expect(() => secretFromEnvironment(command, env)).toThrow(message);
  });
});
