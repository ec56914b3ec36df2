import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ValidationError, type FieldIssue } from '../../../functions/core/errors.ts';
import { EVENT_TYPES } from '../../../functions/core/events.ts';
import {
  deliveriesOf,
  deliveryOrderKey,
  newWebhookId,
  parseWebhookDelivery,
  signedWebhookRequest,
  subscriptionMatches,
  typeMatches,
  validateWebhookInput,
  WEBHOOK_DELIVERY,
  webhookReceivesFor,
  webhookRetryDelaySeconds,
  webhookSignature,
} from '../../../functions/core/webhooks.ts';
import { groupEvent, subscription } from '../../helpers/webhook-fakes.ts';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/hooks-AbC123';

/** The issues of the ValidationError `fn` throws (fails the test when it throws none or another error). */
function issuesOf(fn: () => unknown): FieldIssue[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return [...(error as ValidationError).issues];
  }
  throw new Error('expected a ValidationError, nothing was thrown');
}
const fieldsOf = (body: unknown) => issuesOf(() => validateWebhookInput(body)).map((i) => i.field);

describe('webhooks', () => {
  describe('typeMatches', () => {
    it.each([
      ['promotion-group.created.v1', 'promotion-group.created.v1', true],
      ['promotion-group.created.v1', 'promotion-group.created.v2', false],
      ['promotion-group.*', 'promotion-group.failed.v1', true],
      ['*', 'promotion-group.failed.v1', true],
      ['*.v1', 'promotion-group.succeeded.v1', true],
      ['promotion-group.*ed.v1', 'promotion-group.queued.v1', true],
      ['promotion-group.*ed.v1', 'promotion-group.running.v1', false],
      ['promotion-group.*.v1', 'promotion-group.lease-recovered.v1', true],
      // '.' is literal, not any character
      ['promotion-group.created.v1', 'promotion-groupXcreatedXv1', false],
      // whole type only: no match of a part
      ['created', 'promotion-group.created.v1', false],
      ['promotion-group.created', 'promotion-group.created.v1', false],
    ])('%s against %s → %s', (pattern, type, expected) => {
      expect(typeMatches(pattern, type)).toBe(expected);
    });
  });

  describe('subscriptionMatches', () => {
    const event = groupEvent('g1', 1, { repository: 'app', targetBranch: 'main', type: 'promotion-group.failed.v1' });

    it('passes every event through a subscription with no filters', () => {
      expect(subscriptionMatches({}, event)).toBe(true);
    });

    it.each([
      [{ repository: 'app' }, true],
      [{ repository: 'other' }, false],
      [{ targetBranch: 'main' }, true],
      [{ targetBranch: 'release' }, false],
      [{ types: ['promotion-group.succeeded.v1', 'promotion-group.failed.v1'] }, true],
      [{ types: ['promotion-group.succeeded.v1'] }, false],
      [{ repository: 'app', targetBranch: 'main', types: ['*.failed.v1'] }, true],
      [{ repository: 'app', targetBranch: 'release', types: ['*.failed.v1'] }, false],
    ])('filters %o → %s', (filters, expected) => {
      expect(subscriptionMatches(filters, event)).toBe(expected);
    });
  });

  describe('deliveriesOf', () => {
    it('makes one delivery per event and matching subscription, events in order and subscriptions in list order within one', () => {
      // Prepare
      const events = [
        groupEvent('g1', 1),
        groupEvent('g2', 1, { repository: 'other' }),
        groupEvent('g1', 2, { type: 'promotion-group.queued.v1' }),
      ];
      const subscriptions = [subscription('all'), subscription('app-only', { repository: 'app' }), subscription('queued', { types: ['*.queued.v1'] })];
      // Act
      const deliveries = deliveriesOf(events, subscriptions);
      // Assess
      expect(deliveries.map((d) => `${d.subscriptionId}:${d.event.id}`)).toEqual([
        'all:g1:1', 'app-only:g1:1',
        'all:g2:1',
        'all:g1:2', 'app-only:g1:2', 'queued:g1:2',
      ]);
      expect(deliveries[0]?.event).toBe(events[0]);
    });

    it('makes none when no subscription matches, or there are none', () => {
      expect(deliveriesOf([groupEvent('g1')], [subscription('s', { repository: 'other' })])).toEqual([]);
      expect(deliveriesOf([groupEvent('g1')], [])).toEqual([]);
    });
  });

  describe('webhookSignature', () => {
    it('is sha256= and the hex HMAC-SHA256 of "<timestamp>.<body>" with the secret', () => {
      // Prepare
      const body = JSON.stringify(groupEvent('g1'));
      const expected = createHmac('sha256', 's3cret').update(`1795773600.${body}`).digest('hex');
      // Act / Assess
      expect(webhookSignature('s3cret', 1795773600, body)).toBe(`sha256=${expected}`);
    });

    it('matches a fixed vector (secret whsec_test, timestamp 1795773600, body {"id":"g1:1"})', () => {
      expect(webhookSignature('whsec_test', 1795773600, '{"id":"g1:1"}')).toBe('sha256=cfe7dd28456ca4499a8fa721a2348d0aa97800c2d69cc3a2f4cd5b3141f2824f');
    });

    it('changes with the secret, the timestamp and the body', () => {
      const base = webhookSignature('a', 1, 'x');
      expect(new Set([base, webhookSignature('b', 1, 'x'), webhookSignature('a', 2, 'x'), webhookSignature('a', 1, 'y')]).size).toBe(4);
    });
  });

  describe('signedWebhookRequest', () => {
    it('has the body of the event and the headers a receiver checks, signed at the timestamp it names', () => {
      // Prepare
      const event = groupEvent('g1', 3, { type: 'promotion-group.running.v1' });
      // Act
      const { body, headers } = signedWebhookRequest(event, 's3cret', { deliveryId: 'dlv-1', now: new Date('2026-11-27T10:00:05.999Z') });
      // Assess
      expect(JSON.parse(body)).toEqual(event);
      const timestamp = Math.floor(Date.parse('2026-11-27T10:00:05.999Z') / 1000);
      expect(headers).toEqual({
        'Content-Type': 'application/json',
        'User-Agent': 'promotion-scheduler-webhooks/1',
        'X-Promotion-Scheduler-Event': 'promotion-group.running.v1',
        'X-Promotion-Scheduler-Delivery': 'dlv-1',
        'X-Promotion-Scheduler-Event-Id': 'g1:3',
        'X-Promotion-Scheduler-Timestamp': String(timestamp),
        'X-Promotion-Scheduler-Signature-256': `sha256=${createHmac('sha256', 's3cret').update(`${timestamp}.${body}`).digest('hex')}`,
      });
      expect(headers['X-Promotion-Scheduler-Timestamp']).toBe('1795773605');
    });
  });

  describe('newWebhookId', () => {
    it('is wh- and 12 hex digits, a new one each time', () => {
      const ids = Array.from({ length: 50 }, () => newWebhookId());
      for (const id of ids) expect(id).toMatch(/^wh-[0-9a-f]{12}$/);
      expect(new Set(ids).size).toBe(50);
    });
  });

  describe('validateWebhookInput', () => {
    it('takes an https URL and a secret, normalising the URL, and keeps only the fields given', () => {
      expect(validateWebhookInput({ url: 'https://Hooks.Example.com', secret: 's3cret' })).toEqual({ url: 'https://hooks.example.com/', secret: 's3cret' });
    });

    it('takes a secret ARN and every filter', () => {
      // Prepare
      const body = { url: 'https://hooks.example.com/in', secretArn: ARN, repository: 'app', targetBranch: 'main', types: ['promotion-group.*', '*.failed.v1'] };
      // Act / Assess
      expect(validateWebhookInput(body)).toEqual(body);
    });

    it('treats null filters and a null secretArn as absent', () => {
      expect(validateWebhookInput({ url: 'https://h.example.com/', secret: 'x', secretArn: null, repository: null, targetBranch: null, types: null })).toEqual({
        url: 'https://h.example.com/',
        secret: 'x',
      });
    });

    it.each(['http://localhost:8080/hook', 'http://127.0.0.1:9/hook', 'http://[::1]:9/hook'])('takes http:// to the loopback host of %s where loopback is allowed (the local stack)', (url) => {
      expect(validateWebhookInput({ url, secret: 'x' }, { allowLoopbackHttp: true }).url).toBe(url);
    });

    it.each(['http://localhost:8080/hook', 'https://127.0.0.1:9/hook', 'http://[::1]:9/hook'])('refuses the loopback url %s on a deployed stack (the function\'s own host)', (url) => {
      const issues = issuesOf(() => validateWebhookInput({ url, secret: 'x' }));
      expect(issues).toEqual([{ field: 'url', message: expect.stringMatching(/must not be a loopback address/) }]);
    });

    it.each([
      ['http://hooks.example.com/in', /must be https/],
      ['http://localhost.example.com/in', /must be https/],
      ['http://10.0.0.1/in', /must be https/],
      ['ftp://hooks.example.com/in', /must be https/],
      ['hooks.example.com/in', /not an absolute URL/],
      ['/relative', /not an absolute URL/],
    ])('refuses the url %s', (url, message) => {
      const issues = issuesOf(() => validateWebhookInput({ url, secret: 'x' }));
      expect(issues).toEqual([{ field: 'url', message: expect.stringMatching(message) }]);
    });

    it.each([undefined, 42, `https://h.example.com/${'a'.repeat(2048)}`])('refuses a missing, non-string or over-long url (%#)', (url) => {
      expect(fieldsOf({ url, secret: 'x' })).toEqual(['url']);
    });

    it.each(['https://user:pass@hooks.example.com/in', 'https://token@hooks.example.com/in'])('refuses credentials in the URL: %s', (url) => {
      const issues = issuesOf(() => validateWebhookInput({ url, secret: 'x' }));
      expect(issues).toEqual([{ field: 'url', message: expect.stringMatching(/user name or password/) }]);
    });

    it('asks for exactly one of secret and secretArn', () => {
      expect(issuesOf(() => validateWebhookInput({ url: 'https://h.example.com/' }))).toEqual([
        { field: 'secret', message: expect.stringMatching(/exactly one of secret .* and secretArn/) },
      ]);
      expect(fieldsOf({ url: 'https://h.example.com/', secret: 'x', secretArn: ARN })).toEqual(['secret']);
    });

    it.each([[''], [42], ['x'.repeat(4097)]])('refuses a secret that is not a string of 1 to 4096 characters (%#)', (secret) => {
      expect(fieldsOf({ url: 'https://h.example.com/', secret })).toEqual(['secret']);
    });

    it('takes a secret of 4096 characters', () => {
      expect(validateWebhookInput({ url: 'https://h.example.com/', secret: 'x'.repeat(4096) }).secret).toHaveLength(4096);
    });

    it.each([
      ['arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:hooks-AbC123', true],
      ['arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:a/b_c+d=e.f@g-h', true],
      ['arn:aws:secretsmanager:eu-west-1:12345678901:secret:hooks', false],
      ['arn:aws:ssm:eu-west-1:123456789012:parameter/hooks', false],
      ['arn:aws:secretsmanager:eu-west-1:123456789012:secret:', false],
      ['arn:aws:secretsmanager:eu-west-1:123456789012:secret:has space', false],
      ['team/hooks', false],
    ])('the ARN %s is %s', (secretArn, ok) => {
      if (ok) expect(validateWebhookInput({ url: 'https://h.example.com/', secretArn }).secretArn).toBe(secretArn);
      else expect(fieldsOf({ url: 'https://h.example.com/', secretArn })).toEqual(['secretArn']);
    });

    it.each([
      ['repository', ''],
      ['repository', '   '],
      ['repository', 7],
      ['repository', 'r'.repeat(201)],
      ['targetBranch', ''],
      ['targetBranch', ['main']],
    ])('refuses %s %j', (field, value) => {
      expect(fieldsOf({ url: 'https://h.example.com/', secret: 'x', [field]: value })).toEqual([field]);
    });

    it.each([
      [[], 'types'],
      ['promotion-group.*', 'types'],
      [Array.from({ length: 21 }, () => '*'), 'types'],
      [['Promotion-Group.*'], 'types[0]'],
      [['*', 'promotion_group.*'], 'types[1]'],
      [['*', 7], 'types[1]'],
      [['x'.repeat(101)], 'types[0]'],
    ])('refuses the types %j (%s)', (types, field) => {
      expect(fieldsOf({ url: 'https://h.example.com/', secret: 'x', types })).toEqual([field]);
    });

    it('takes 20 type patterns', () => {
      expect(validateWebhookInput({ url: 'https://h.example.com/', secret: 'x', types: Array.from({ length: 20 }, () => '*') }).types).toHaveLength(20);
    });

    it.each(['promotion-group.created', 'promotion-group.created.v2', 'created', 'promotion-group.*.v9'])('refuses the pattern %s: it matches no event type, and says which there are', (pattern) => {
      const issues = issuesOf(() => validateWebhookInput({ url: 'https://h.example.com/', secret: 'x', types: ['*.failed.v1', pattern] }));
      expect(issues).toEqual([{ field: 'types[1]', message: expect.stringContaining('matches no event type') }]);
      expect(issues[0]?.message).toContain(EVENT_TYPES.join(', '));
    });

    it('refuses unknown fields, naming each and the known ones', () => {
      const issues = issuesOf(() => validateWebhookInput({ url: 'https://h.example.com/', secret: 'x', events: ['*'], Secret: 'y' }));
      expect(issues.map((i) => i.field)).toEqual(['events', 'Secret']);
      expect(issues[0]?.message).toBe("unknown field 'events' (expected url, secret, secretArn, repository, targetBranch, types)");
    });

    it('names every bad field in one error', () => {
      // Prepare
      const body = { url: 'http://hooks.example.com/', repository: '', types: ['nope'], extra: 1 };
      // Act
      const issues = issuesOf(() => validateWebhookInput(body));
      // Assess
      expect(issues.map((i) => i.field).sort()).toEqual(['extra', 'repository', 'secret', 'types[0]', 'url']);
    });

    it.each([null, 'https://h.example.com/', [{ url: 'https://h.example.com/' }], 42])('refuses a body that is not a JSON object (%j)', (body) => {
      expect(issuesOf(() => validateWebhookInput(body))).toEqual([{ field: 'body', message: 'the body must be a JSON object' }]);
    });
  });

  describe('webhookRetryDelaySeconds', () => {
    it('doubles from 1 s at the first receive up to 300 s', () => {
      const delays = Array.from({ length: 12 }, (_, i) => webhookRetryDelaySeconds(i + 1));
      expect(delays).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
    });

    it('stays at 300 s for very late receives, and takes a count below 1 as the first', () => {
      expect(webhookRetryDelaySeconds(1_000)).toBe(300);
      expect(webhookRetryDelaySeconds(0)).toBe(1);
      expect(webhookRetryDelaySeconds(-3)).toBe(1);
      expect(webhookRetryDelaySeconds(2.7)).toBe(2);
    });
  });

  describe('webhookReceivesFor and WEBHOOK_DELIVERY.maxReceiveCount', () => {
    const sumOfDelays = (receives: number) => Array.from({ length: receives }, (_, i) => webhookRetryDelaySeconds(i + 1)).reduce((a, b) => a + b, 0);

    it('gives retries of receives 1 … maxReceiveCount − 1 at least 24 h, and one receive fewer would not', () => {
      // Prepare
      const max = WEBHOOK_DELIVERY.maxReceiveCount;
      // Assess
      expect(sumOfDelays(max - 1)).toBeGreaterThanOrEqual(24 * 3600);
      expect(sumOfDelays(max - 2)).toBeLessThan(24 * 3600);
    });

    it('is 297 receives for 24 h (511 s of doubling, then 287 delays of 300 s), within SQS’s 1000', () => {
      expect(WEBHOOK_DELIVERY.maxReceiveCount).toBe(297);
      expect(sumOfDelays(296)).toBe(511 + 287 * 300);
      expect(WEBHOOK_DELIVERY.maxReceiveCount).toBeLessThanOrEqual(1000);
    });

    it.each([[1, 2], [3, 3], [7, 4], [511, 10], [512, 11]])('%d s takes %d receives', (seconds, receives) => {
      expect(webhookReceivesFor(seconds)).toBe(receives);
    });
  });

  describe('parseWebhookDelivery', () => {
    it('reads back what a delivery message carries', () => {
      const delivery = { subscriptionId: 'wh-1', event: groupEvent('g1', 2) };
      expect(parseWebhookDelivery(JSON.stringify(delivery))).toEqual(delivery);
    });

    it.each([
      ['not json', '{'],
      ['null', 'null'],
      ['a number', '42'],
      ['no subscriptionId', JSON.stringify({ event: groupEvent('g1') })],
      ['no event', JSON.stringify({ subscriptionId: 'wh-1' })],
      ['a null event', JSON.stringify({ subscriptionId: 'wh-1', event: null })],
      ['an event without id', JSON.stringify({ subscriptionId: 'wh-1', event: { ...groupEvent('g1'), id: undefined } })],
      ['an event without type', JSON.stringify({ subscriptionId: 'wh-1', event: { ...groupEvent('g1'), type: 3 } })],
      ['an event without groupId', JSON.stringify({ subscriptionId: 'wh-1', event: { ...groupEvent('g1'), groupId: undefined } })],
      ['an event without time', JSON.stringify({ subscriptionId: 'wh-1', event: { ...groupEvent('g1'), time: undefined } })],
      ['a work message', JSON.stringify({ groupId: 'g1', attempt: 1, claimToken: 't', scheduledAt: '2026-11-27T10:00:00Z' })],
    ])('gives undefined for %s', (_, body) => {
      expect(parseWebhookDelivery(body)).toBeUndefined();
    });
  });

  describe('deliveryOrderKey', () => {
    it('is <subscriptionId>#<groupId>, the same for every event of one group to one subscription', () => {
      expect(deliveryOrderKey({ subscriptionId: 'wh-1', event: groupEvent('g1', 1) })).toBe('wh-1#g1');
      expect(deliveryOrderKey({ subscriptionId: 'wh-1', event: groupEvent('g1', 9) })).toBe('wh-1#g1');
      expect(deliveryOrderKey({ subscriptionId: 'wh-2', event: groupEvent('g1', 1) })).toBe('wh-2#g1');
    });
  });
});
