/**
 * The OpenAPI 3.1 document of the API, served at `GET /v1/openapi.json`. It is the machine-
 * readable half of docs/api.md; the contract tests check every answer of the real handler
 * against it, so the two cannot drift apart silently.
 */
import { FREEZE_LIMITS, WEEKDAYS } from '../core/freeze.ts';
import { GROUP_STATUSES, PREFLIGHT_RESULTS } from '../core/group.ts';
import { LANE_FAILURE_POLICIES, LANE_OVERLAP_POLICIES, LANE_WAITING_LIMIT } from '../core/lane.ts';
import { INPUT_LIMITS } from '../core/group-input.ts';
import { WEBHOOK_DELIVERY } from '../core/webhooks.ts';
import { API_SETTINGS } from '../shared/definitions.ts';
import { PROBLEM_SLUGS, PROBLEM_TYPE_PREFIX } from './problems.ts';

/** The API's version in `info.version`: bumped with any change of the contract. */
export const API_VERSION = '1.4.0';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const instant = { type: 'string', description: 'ISO-8601 with a UTC offset or Z, e.g. 2026-12-24T09:00:00Z.' } as const;
const utc = { type: 'string', format: 'date-time', description: 'ISO-8601 UTC (…Z).' } as const;
const refName = { type: 'string', minLength: 1, maxLength: INPUT_LIMITS.ref, description: 'A valid git reference name.' } as const;
const problemContent = (schema = 'Problem') => ({ 'application/problem+json': { schema: ref(schema) } });

/** A lane's members (docs/api.md, "Lanes"), shared by the Lane and LaneDetail schemas. */
const laneProperties = {
  repository: { type: 'string' },
  targetBranch: { type: 'string' },
  version: { type: 'integer', minimum: 0, description: '0: the lane has never been written (nothing held, default policies).' },
  holder: {
    oneOf: [
      { type: 'object', additionalProperties: false, required: ['groupId', 'since'], properties: { groupId: { type: 'string' }, since: utc } },
      { type: 'null' },
    ],
  },
  waiting: { type: 'array', maxItems: LANE_WAITING_LIMIT, items: ref('LaneWaiter'), description: 'In the order they start.' },
  waitingCount: { type: 'integer', minimum: 0 },
  paused: { oneOf: [ref('LanePause'), { type: 'null' }] },
  overlapPolicy: { type: 'string', enum: [...LANE_OVERLAP_POLICIES], description: 'In force: the lane’s own, else the stack’s laneOverlapPolicy.' },
  onFailure: { type: 'string', enum: [...LANE_FAILURE_POLICIES], description: 'In force: the lane’s own, else the stack’s laneOnFailure.' },
  own: {
    type: 'object',
    additionalProperties: false,
    description: 'What the lane sets itself.',
    properties: { overlapPolicy: { type: 'string', enum: [...LANE_OVERLAP_POLICIES] }, onFailure: { type: 'string', enum: [...LANE_FAILURE_POLICIES] } },
  },
  updatedAt: utc,
} as const;
/** A webhook subscription's filters (docs/api.md, "Webhooks"), shared by the Webhook and CreateWebhook schemas. */
const webhookFilters = {
  repository: { type: 'string', minLength: 1, maxLength: 200, description: 'Only events of this repository (absent: any).' },
  targetBranch: { type: 'string', minLength: 1, maxLength: 200, description: 'Only events of this target branch (absent: any).' },
  types: {
    type: 'array',
    minItems: 1,
    maxItems: 20,
    items: { type: 'string', pattern: '^[a-z0-9.*-]{1,100}$' },
    description: 'Only events whose type matches one of these patterns (* for any run of characters, e.g. promotion-group.failed.v1, *.failed.*); absent: every type.',
  },
} as const;
const webhookId = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$' } as const;
const freezeId = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$' } as const;
/** A freeze's scope (docs/api.md, "Freeze windows"), shared by the FreezeWindow and CreateFreeze schemas. */
const freezeScope = {
  repository: { type: 'string', minLength: 1, maxLength: 200, description: 'With targetBranch: one lane. Never without targetBranch.' },
  targetBranch: { type: 'string', minLength: 1, maxLength: 200, description: 'Alone: this target branch in every repository; with repository: one lane; neither: every lane.' },
} as const;
const weeklyEnd = {
  type: 'object',
  additionalProperties: false,
  required: ['day', 'time'],
  properties: { day: { type: 'string', enum: [...WEEKDAYS] }, time: { type: 'string', pattern: '^([01]\\d|2[0-3]):[0-5]\\d$', description: 'HH:MM, local time.' } },
} as const;
const ianaZone = { type: 'string', minLength: 1, description: 'An IANA time zone, e.g. Europe/Berlin.' } as const;

const laneRequired = ['repository', 'targetBranch', 'version', 'holder', 'waiting', 'waitingCount', 'paused', 'overlapPolicy', 'onFailure', 'own'] as const;

const schemas = {
  Promotion: {
    type: 'object',
    additionalProperties: false,
    required: ['source'],
    properties: { source: { ...refName, description: 'The branch, tag or commit to bring into the target branch.' } },
  },
  Conflict: {
    type: 'object',
    required: ['source', 'paths'],
    properties: { source: { type: 'string' }, paths: { type: 'array', items: { type: 'string' } }, detail: { type: 'string' } },
  },
  Outcome: {
    oneOf: [
      {
        type: 'object',
        required: ['status'],
        properties: { status: { const: 'Succeeded' }, integrationBranch: { type: 'string' }, resultRef: { type: 'string' }, detail: { type: 'string' } },
      },
      { type: 'object', required: ['status', 'reason'], properties: { status: { const: 'Failed' }, reason: { type: 'string' }, error: { type: 'string' } } },
      {
        type: 'object',
        required: ['status', 'reason', 'conflicts'],
        properties: { status: { const: 'Conflicted' }, reason: { type: 'string' }, conflicts: { type: 'array', items: ref('Conflict') } },
      },
      { type: 'object', required: ['status', 'by', 'reason'], properties: { status: { const: 'Cancelled' }, by: { type: 'string' }, reason: { type: 'string' } } },
    ],
  },
  Status: { type: 'string', enum: [...GROUP_STATUSES] },
  Transition: {
    type: 'object',
    additionalProperties: false,
    required: ['from', 'to', 'at', 'reason', 'attempt'],
    properties: {
      from: { oneOf: [ref('Status'), { type: 'null' }], description: 'null for the creation.' },
      to: ref('Status'),
      at: utc,
      reason: { type: 'string' },
      attempt: { type: 'integer', minimum: 0 },
      by: { type: 'string' },
    },
  },
  Group: {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'repository', 'targetBranch', 'promotions', 'status', 'version', 'attempt', 'createdAt', 'updatedAt', 'history'],
    properties: {
      id: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$' },
      repository: { type: 'string', minLength: 1, maxLength: INPUT_LIMITS.repository },
      targetBranch: refName,
      promotions: { type: 'array', minItems: 1, maxItems: INPUT_LIMITS.promotions, items: ref('Promotion') },
      description: { type: 'string', maxLength: INPUT_LIMITS.description },
      status: { ...ref('Status'), description: 'A Scheduled group may end Conflicted before its time: a pre-flight check that finds conflicts under preflightPolicy block (see preflight).' },
      scheduledAt: { ...utc, description: 'When it starts; absent while Pending.' },
      version: { type: 'integer', minimum: 1, description: 'Bumped by every change; the ETag.' },
      attempt: { type: 'integer', minimum: 0 },
      attemptBase: { type: 'integer', minimum: 0 },
      claimToken: { type: 'string' },
      leaseExpiresAt: utc,
      createdAt: utc,
      updatedAt: utc,
      queuedAt: utc,
      startedAt: utc,
      finishedAt: utc,
      outcome: ref('Outcome'),
      lastError: { type: 'string' },
      waiting: {
        type: 'object',
        additionalProperties: false,
        required: ['since'],
        description: 'While the group is due and waits for its lane: since when, and the holder or the pause it waited for when it began.',
        properties: { since: utc, holder: { type: 'string' }, paused: ref('LanePause') },
      },
      laneWaitMs: { type: 'integer', minimum: 0, description: 'How long the run waited for its lane before it was handed the lane.' },
      readyAt: { ...utc, description: 'When the group was handed its lane, if after scheduledAt: its lateness counts from here.' },
      holdsLane: { type: 'boolean', description: 'The group holds its lane (from its claim until it ends).' },
      frozen: ref('GroupFrozen'),
      ignoreFreeze: {
        type: 'object',
        additionalProperties: false,
        required: ['by', 'at'],
        description: 'Created with ignoreFreeze: true (the emergency hotfix): freezes do not hold it. Who asked, when.',
        properties: { by: { type: 'string' }, at: utc },
      },
      preflight: ref('GroupPreflight'),
      preflightDueAt: { ...utc, description: 'While a pre-flight check is due: right after a create or an edit, then preflightSeconds before scheduledAt. Absent: none pending.' },
      history: { type: 'array', maxItems: 50, items: ref('Transition') },
    },
  },
  GroupFrozen: {
    type: 'object',
    additionalProperties: false,
    required: ['freezeId', 'reason', 'until', 'chain', 'since'],
    description: 'While a freeze window holds the group (it stays Scheduled and starts at until, which is also its readyAt).',
    properties: {
      freezeId: { type: 'string', description: 'The freeze whose end releases it.' },
      reason: { type: 'string', description: 'That freeze’s reason.' },
      until: { ...utc, description: 'When it may start: the end of the hold.' },
      zone: { ...ianaZone, description: 'The freeze’s time zone, to show until in.' },
      chain: { type: 'array', items: { type: 'string' }, description: 'Every freeze that held it on the way to until, in order.' },
      since: { ...utc, description: 'When it began to be held.' },
    },
  },
  GroupPreflight: {
    type: 'object',
    additionalProperties: false,
    required: ['at', 'result'],
    description:
      'The last pre-flight check: what the conflict detector said about the group as it stood, before its time (kept until the next check replaces it). Under preflightPolicy block, conflicts end the group Conflicted at once (Scheduled → Conflicted, by pre-flight, with these conflicts); a check that could not say (error) never blocks.',
    properties: {
      at: { ...utc, description: 'When the detector answered (or failed).' },
      result: { type: 'string', enum: [...PREFLIGHT_RESULTS] },
      conflicts: { type: 'array', minItems: 1, items: ref('Conflict'), description: 'result conflicts: what the detector reported.' },
      error: { type: 'string', description: 'result error: why the check could not say (the detector down, a source it could not find…).' },
    },
    // What each result carries: conflicts its conflicts, error its error.
    allOf: [
      { if: { properties: { result: { const: 'conflicts' } } }, then: { required: ['conflicts'], properties: { conflicts: { type: 'array' } } } },
      { if: { properties: { result: { const: 'error' } } }, then: { required: ['error'], properties: { error: { type: 'string' } } } },
    ],
  },
  LanePause: {
    type: 'object',
    additionalProperties: false,
    required: ['by', 'at', 'reason'],
    properties: { by: { type: 'string' }, at: utc, reason: { type: 'string' } },
  },
  LaneWaiter: {
    type: 'object',
    additionalProperties: false,
    required: ['groupId', 'scheduledAt', 'createdAt', 'since'],
    properties: { groupId: { type: 'string' }, scheduledAt: utc, createdAt: utc, since: utc },
  },
  Lane: { type: 'object', additionalProperties: false, required: [...laneRequired], properties: laneProperties },
  LaneDetail: {
    type: 'object',
    additionalProperties: false,
    required: [...laneRequired, 'holderGroup', 'waitingGroups'],
    properties: {
      ...laneProperties,
      holderGroup: { oneOf: [ref('Group'), { type: 'null' }] },
      waitingGroups: { type: 'array', items: ref('Group'), description: 'The waiting groups, in the order they start.' },
    },
  },
  LanePage: {
    type: 'object',
    additionalProperties: false,
    required: ['items', 'nextCursor'],
    properties: {
      items: { type: 'array', maxItems: INPUT_LIMITS.page, items: ref('Lane') },
      nextCursor: { type: ['string', 'null'], description: 'Pass back as cursor; null on the last page.' },
    },
  },
  LanePauseRequest: {
    type: 'object',
    additionalProperties: false,
    required: ['repository', 'targetBranch', 'reason'],
    properties: { repository: { type: 'string' }, targetBranch: refName, reason: { type: 'string', minLength: 1, maxLength: INPUT_LIMITS.reason } },
  },
  LaneResumeRequest: {
    type: 'object',
    additionalProperties: false,
    required: ['repository', 'targetBranch'],
    properties: { repository: { type: 'string' }, targetBranch: refName },
  },
  LaneSettingsRequest: {
    type: 'object',
    additionalProperties: false,
    required: ['repository', 'targetBranch'],
    minProperties: 3,
    properties: {
      repository: { type: 'string' },
      targetBranch: refName,
      overlapPolicy: { type: 'string', enum: [...LANE_OVERLAP_POLICIES] },
      onFailure: { type: 'string', enum: [...LANE_FAILURE_POLICIES] },
    },
  },
  CreateGroup: {
    type: 'object',
    additionalProperties: false,
    required: ['repository', 'targetBranch', 'promotions'],
    properties: {
      id: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$', description: 'Default: a UUID chosen by the server.' },
      repository: { type: 'string', minLength: 1, maxLength: INPUT_LIMITS.repository },
      targetBranch: refName,
      promotions: { type: 'array', minItems: 1, maxItems: INPUT_LIMITS.promotions, items: ref('Promotion') },
      scheduledAt: { ...instant, description: 'When to start; omit to create a Pending group.' },
      description: { type: 'string', maxLength: INPUT_LIMITS.description },
      ignoreFreeze: { type: 'boolean', description: 'true: freezes do not hold this group (the emergency hotfix); recorded as the group’s ignoreFreeze, with who asked.' },
    },
  },
  GroupChanges: {
    type: 'object',
    additionalProperties: false,
    minProperties: 1,
    properties: {
      scheduledAt: instant,
      promotions: { type: 'array', minItems: 1, maxItems: INPUT_LIMITS.promotions, items: ref('Promotion') },
      description: { type: 'string', maxLength: INPUT_LIMITS.description, description: 'An empty string removes it.' },
    },
  },
  CancelRequest: {
    type: 'object',
    additionalProperties: false,
    properties: { reason: { type: 'string', minLength: 1, maxLength: INPUT_LIMITS.reason } },
  },
  RetryRequest: {
    type: 'object',
    additionalProperties: false,
    properties: {
      reason: { type: 'string', minLength: 1, maxLength: INPUT_LIMITS.reason },
      scheduledAt: { ...instant, description: 'When the new attempt runs; default now.' },
    },
  },
  GroupPage: {
    type: 'object',
    additionalProperties: false,
    required: ['items', 'nextCursor'],
    properties: {
      items: { type: 'array', maxItems: INPUT_LIMITS.page, items: ref('Group') },
      nextCursor: { type: ['string', 'null'], description: 'Pass back as cursor; null on the last page.' },
    },
  },
  History: {
    type: 'object',
    additionalProperties: false,
    required: ['items'],
    properties: { items: { type: 'array', items: ref('Transition') } },
  },
  DeadLetter: {
    type: 'object',
    additionalProperties: false,
    required: ['messageId', 'groupId', 'attempt', 'receiveCount', 'sentAt', 'body'],
    properties: {
      messageId: { type: 'string' },
      groupId: { type: ['string', 'null'], description: 'From the body when it is a work message.' },
      attempt: { type: ['integer', 'null'] },
      receiveCount: { type: 'integer', minimum: 0 },
      sentAt: { type: ['string', 'null'], description: 'When it was first sent to the work queue, ISO-8601 UTC.' },
      body: { type: 'string' },
    },
  },
  DeadLetterList: {
    type: 'object',
    additionalProperties: false,
    required: ['items'],
    properties: { items: { type: 'array', maxItems: INPUT_LIMITS.deadLetters, items: ref('DeadLetter') } },
  },
  RedriveRequest: {
    type: 'object',
    additionalProperties: false,
    properties: { limit: { type: 'integer', minimum: 1, maximum: INPUT_LIMITS.deadLetters, default: INPUT_LIMITS.defaultDeadLetters } },
  },
  RedriveResult: {
    type: 'object',
    additionalProperties: false,
    required: ['moved', 'failed'],
    properties: {
      moved: { type: 'integer', minimum: 0 },
      failed: {
        type: 'array',
        items: { type: 'object', additionalProperties: false, required: ['messageId', 'error'], properties: { messageId: { type: 'string' }, error: { type: 'string' } } },
      },
    },
  },
  WebhookSecret: {
    type: 'object',
    additionalProperties: false,
    required: ['ref', 'managed'],
    description: 'Where the secret is; its value is never answered.',
    properties: {
      ref: { type: 'string', description: 'A Secrets Manager ARN on AWS; the local stack’s own reference (local:…, flag:…) locally.' },
      managed: { type: 'boolean', description: 'true: made by the scheduler from a secret value, deleted with the subscription; false: the caller’s (secretArn), left alone.' },
    },
  },
  Webhook: {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'url', 'secret', 'createdAt', 'createdBy'],
    properties: {
      id: { ...webhookId, description: 'wh-<12 hex digits>; local-<n> for a subscription given to the local stack with --webhook.' },
      url: { type: 'string', format: 'uri', maxLength: 2048 },
      ...webhookFilters,
      secret: ref('WebhookSecret'),
      createdAt: utc,
      createdBy: { type: 'string', description: 'Who added it, as a group’s history names who acted.' },
      origin: { const: 'flag', description: 'Given to the local stack with --webhook: lives as long as that run and cannot be removed.' },
    },
  },
  WebhookList: {
    type: 'object',
    additionalProperties: false,
    required: ['items'],
    properties: { items: { type: 'array', items: ref('Webhook'), description: 'Oldest first: the local stack’s --webhook ones, then those added.' } },
  },
  CreateWebhook: {
    type: 'object',
    additionalProperties: false,
    required: ['url'],
    description: 'Exactly one of secret and secretArn.',
    oneOf: [
      { required: ['secret'], properties: { secret: { type: 'string' } } },
      { required: ['secretArn'], properties: { secretArn: { type: 'string' } } },
    ],
    properties: {
      url: { type: 'string', maxLength: 2048, description: 'An absolute https:// URL (http:// only to localhost, 127.0.0.1 or [::1]), without user name or password.' },
      secret: { type: 'string', minLength: 1, maxLength: 4096, description: 'The signing secret’s value: kept by the scheduler (Secrets Manager on AWS), never answered.' },
      secretArn: {
        type: 'string',
        pattern: '^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\\d{12}:secret:[A-Za-z0-9/_+=.@-]+$',
        description: `A Secrets Manager secret the caller keeps, tagged ${WEBHOOK_DELIVERY.secretTag} = <stack name> (deployed stacks only).`,
      },
      ...webhookFilters,
    },
  },
  WeeklyWindow: {
    type: 'object',
    additionalProperties: false,
    required: ['from', 'until', 'zone'],
    description: 'Every week, from a local day and time to the first local until after it, in zone.',
    properties: { from: weeklyEnd, until: weeklyEnd, zone: ianaZone },
  },
  FreezeWindow: {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'reason', 'by', 'createdAt'],
    description: 'One-off (from, until) or weekly (weekly).',
    properties: {
      id: { ...freezeId, description: 'fz-<10 hex digits>.' },
      reason: { type: 'string', minLength: 1, maxLength: FREEZE_LIMITS.maxReasonLength },
      by: { type: 'string', description: 'Who added it, as a group’s history names who acted.' },
      createdAt: utc,
      ...freezeScope,
      from: { ...utc, description: 'One-off: from (inclusive).' },
      until: { ...utc, description: 'One-off: until (exclusive).' },
      zone: { ...ianaZone, description: 'One-off: the zone to show its times in (the tz it was added with).' },
      weekly: ref('WeeklyWindow'),
      removing: {
        type: 'object',
        additionalProperties: false,
        required: ['by', 'at'],
        description: 'Being removed (a removal that failed half way; the next DELETE finishes it): it holds nothing.',
        properties: { by: { type: 'string' }, at: utc },
      },
    },
  },
  FreezeView: {
    type: 'object',
    additionalProperties: false,
    required: ['freeze'],
    properties: {
      freeze: ref('FreezeWindow'),
      next: {
        type: 'object',
        additionalProperties: false,
        required: ['from', 'until', 'active'],
        description: 'The occurrence that holds now (active) or holds next; absent: a one-off that ended.',
        properties: { from: utc, until: utc, active: { type: 'boolean' } },
      },
    },
  },
  FreezeList: {
    type: 'object',
    additionalProperties: false,
    required: ['items'],
    properties: { items: { type: 'array', maxItems: FREEZE_LIMITS.maxFreezes, items: ref('FreezeView'), description: 'Oldest first.' } },
  },
  CreateFreeze: {
    type: 'object',
    additionalProperties: false,
    required: ['reason'],
    description: 'A one-off freeze (from and until, tz optional) or a weekly one (weekly and tz).',
    oneOf: [
      { required: ['from', 'until'], properties: { from: { type: 'string' }, until: { type: 'string' } } },
      { required: ['weekly', 'tz'], properties: { weekly: { type: 'string' }, tz: { type: 'string' } } },
    ],
    properties: {
      from: { ...instant, description: 'One-off: from (inclusive), ISO-8601 with an offset.' },
      until: { ...instant, description: 'One-off: until (exclusive), after from and not passed.' },
      weekly: { type: 'string', description: 'Ddd HH:MM-Ddd HH:MM in tz, e.g. Fri 16:00-Mon 08:00 (days Mon … Sun; an en dash is fine).' },
      tz: { type: 'string', description: 'An IANA time zone (not an offset): the weekly window’s, or the zone a one-off’s times are shown in.' },
      ...freezeScope,
      reason: { type: 'string', minLength: 1, maxLength: FREEZE_LIMITS.maxReasonLength, description: 'Why; shown to whoever waits.' },
    },
  },
  FreezeRemoved: {
    type: 'object',
    additionalProperties: false,
    required: ['freeze', 'released'],
    properties: {
      freeze: ref('FreezeWindow'),
      released: { type: 'integer', minimum: 0, description: 'How many groups it held were released (due again now, or at their own time).' },
    },
  },
  FieldIssue: {
    type: 'object',
    additionalProperties: false,
    required: ['field', 'message'],
    properties: {
      field: { type: 'string', description: 'A body member (scheduledAt, promotions[1].source), body, header:<Name>, query:<name> or path:id.' },
      message: { type: 'string' },
    },
  },
  Problem: {
    type: 'object',
    required: ['type', 'title', 'status', 'detail'],
    description: 'An RFC 9457 problem document.',
    properties: {
      type: { type: 'string', enum: PROBLEM_SLUGS.map((slug) => `${PROBLEM_TYPE_PREFIX}${slug}`) },
      title: { type: 'string' },
      status: { type: 'integer', minimum: 400, maximum: 599 },
      detail: { type: 'string' },
      errors: { type: 'array', minItems: 1, items: ref('FieldIssue'), description: 'validation: every bad field.' },
      groupId: { type: 'string' },
      webhookId: { type: 'string' },
      freezeId: { type: 'string' },
      group: ref('Group'),
      lane: ref('Lane'),
      currentStatus: ref('Status'),
      allowedActions: { type: 'array', items: { type: 'string', enum: ['cancel', 'reschedule', 'edit', 'retry'] } },
      allow: { type: 'array', items: { type: 'string' } },
      requestId: { type: 'string' },
    },
  },
} as const;

const parameters = {
  id: { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$' } },
  webhookId: { name: 'id', in: 'path', required: true, schema: webhookId },
  freezeId: { name: 'id', in: 'path', required: true, schema: freezeId },
  ifMatch: {
    name: 'If-Match',
    in: 'header',
    required: false,
    description: 'Apply only if the group is still at this version ("<version>", the ETag); * or absent: no precondition.',
    schema: { type: 'string' },
  },
  actor: {
    name: 'X-Promotion-Scheduler-Actor',
    in: 'header',
    required: false,
    description: "Who the history names as acting (e.g. operator:alice); up to 200 printable ASCII characters; not one of the scheduler's own names (poller, executor, pre-flight, dead-letter).",
    schema: { type: 'string', maxLength: 200 },
  },
  idempotencyKey: {
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    description: 'Makes a retried create safe for 24 hours: same key and body → the same group; another body → 409.',
    schema: { type: 'string', minLength: 1, maxLength: 255 },
  },
} as const;

const etag = { ETag: { description: 'The group version, quoted.', schema: { type: 'string' } } };
const groupAnswer = (description: string) => ({ description, headers: etag, content: { 'application/json': { schema: ref('Group') } } });
const problems = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((status) => [
      String(status),
      {
        description: PROBLEM_STATUS_TEXT[status] ?? 'A problem',
        ...(status === 503 ? { headers: { 'Retry-After': { schema: { type: 'string' } } } } : {}),
        ...(status === 405 ? { headers: { Allow: { schema: { type: 'string' } } } } : {}),
        content: problemContent(),
      },
    ]),
  );
const PROBLEM_STATUS_TEXT: Record<number, string> = {
  400: 'validation (every bad field in errors) or payload-too-large; nothing was written',
  404: 'not-found: no such group, webhook or freeze window (or a part this API was built without)',
  405: 'method-not-allowed',
  409: 'group-exists, idempotency-key-reused, transition-refused, conflict, lane-state, webhook-refused or freeze-refused',
  412: 'precondition-failed: If-Match names another version; group is the current one',
  415: 'unsupported-media-type: the body is not JSON',
  500: 'internal: a bug',
  503: 'store-unavailable: try again (with the same Idempotency-Key)',
};
const json = (schema: string) => ({ 'application/json': { schema: ref(schema) } });
const always = [500, 503] as const;

/** The document (a fresh object each call). */
export function openApiDocument(): Record<string, unknown> {
  const base = API_SETTINGS.basePath;
  return {
    openapi: '3.1.0',
    info: {
      title: 'promotion-scheduler API',
      version: API_VERSION,
      description: 'Create and steer promotion groups. Prose, examples and limits: docs/api.md.',
    },
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    servers: [{ url: '/', description: 'The stack ApiUrl (deployed) or apiUrl in .local/stack.json (local).' }],
    security: [{ sigv4: [] }],
    paths: {
      [`${base}/groups`]: {
        get: {
          operationId: 'listGroups',
          summary: 'A page of groups',
          parameters: [
            { name: 'status', in: 'query', schema: ref('Status') },
            { name: 'repository', in: 'query', description: 'With targetBranch (both or neither).', schema: { type: 'string' } },
            { name: 'targetBranch', in: 'query', description: 'With repository.', schema: { type: 'string' } },
            { name: 'dueAfter', in: 'query', description: 'dueAfter ≤ scheduledAt.', schema: { type: 'string' } },
            { name: 'dueBefore', in: 'query', description: 'scheduledAt < dueBefore.', schema: { type: 'string' } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: INPUT_LIMITS.page, default: INPUT_LIMITS.defaultPage } },
            { name: 'cursor', in: 'query', description: 'nextCursor of the previous page (same filters).', schema: { type: 'string' } },
          ],
          responses: { '200': { description: 'A page', content: json('GroupPage') }, ...problems(400, ...always) },
        },
        post: {
          operationId: 'createGroup',
          summary: 'Create a group (Scheduled with scheduledAt, else Pending)',
          parameters: [parameters.idempotencyKey, parameters.actor],
          requestBody: { required: true, content: json('CreateGroup') },
          responses: {
            '201': {
              description: 'Created (or replayed: Idempotent-Replayed: true)',
              headers: {
                ...etag,
                Location: { schema: { type: 'string' } },
                'Idempotent-Replayed': { schema: { type: 'string', const: 'true' } },
              },
              content: json('Group'),
            },
            ...problems(400, 409, 415, ...always),
          },
        },
      },
      [`${base}/groups/{id}`]: {
        parameters: [parameters.id],
        get: {
          operationId: 'getGroup',
          summary: 'The group',
          parameters: [{ name: 'If-None-Match', in: 'header', required: false, schema: { type: 'string' } }],
          responses: { '200': groupAnswer('The group'), '304': { description: 'Not modified since the ETag given', headers: etag }, ...problems(400, 404, ...always) },
        },
        patch: {
          operationId: 'updateGroup',
          summary: 'Change scheduledAt, promotions and/or description of a Pending or Scheduled group',
          parameters: [parameters.ifMatch, parameters.actor],
          requestBody: { required: true, content: json('GroupChanges') },
          responses: { '200': groupAnswer('The changed group'), ...problems(400, 404, 409, 412, 415, ...always) },
        },
      },
      [`${base}/groups/{id}/cancel`]: {
        parameters: [parameters.id],
        post: {
          operationId: 'cancelGroup',
          summary: 'Cancel a Pending, Scheduled or Queued group',
          parameters: [parameters.ifMatch, parameters.actor],
          requestBody: { required: false, content: json('CancelRequest') },
          responses: { '200': groupAnswer('The cancelled group'), ...problems(400, 404, 409, 412, 415, ...always) },
        },
      },
      [`${base}/groups/{id}/retry`]: {
        parameters: [parameters.id],
        post: {
          operationId: 'retryGroup',
          summary: 'Schedule a Failed or Conflicted group again, with a fresh attempt budget',
          parameters: [parameters.ifMatch, parameters.actor],
          requestBody: { required: false, content: json('RetryRequest') },
          responses: { '200': groupAnswer('The rescheduled group'), ...problems(400, 404, 409, 412, 415, ...always) },
        },
      },
      [`${base}/groups/{id}/history`]: {
        parameters: [parameters.id],
        get: {
          operationId: 'getHistory',
          summary: 'The transitions, oldest first (the last 50)',
          responses: { '200': { description: 'The history', content: json('History') }, ...problems(400, 404, ...always) },
        },
      },
      [`${base}/dead-letters`]: {
        get: {
          operationId: 'listDeadLetters',
          summary: 'Messages in the dead-letter queue, oldest first, left in the queue',
          parameters: [
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: INPUT_LIMITS.deadLetters, default: INPUT_LIMITS.defaultDeadLetters } },
          ],
          responses: { '200': { description: 'The messages', content: json('DeadLetterList') }, ...problems(400, 404, ...always) },
        },
      },
      [`${base}/dead-letters/redrive`]: {
        post: {
          operationId: 'redriveDeadLetters',
          summary: 'Move up to limit dead-letter messages back to the work queue',
          parameters: [parameters.actor],
          requestBody: { required: false, content: json('RedriveRequest') },
          responses: { '200': { description: 'What was moved, and what could not be', content: json('RedriveResult') }, ...problems(400, 404, 415, ...always) },
        },
      },
      [`${base}/lanes`]: {
        get: {
          operationId: 'listLanes',
          summary: 'A page of lanes (every lane that was ever held, waited for, paused or configured), by repository then target',
          parameters: [
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: INPUT_LIMITS.page, default: INPUT_LIMITS.defaultPage } },
            { name: 'cursor', in: 'query', description: 'nextCursor of the previous page.', schema: { type: 'string' } },
          ],
          responses: { '200': { description: 'A page', content: json('LanePage') }, ...problems(400, 404, ...always) },
        },
      },
      [`${base}/lanes/show`]: {
        get: {
          operationId: 'showLane',
          summary: 'One lane: its holder and its waiting groups, in the order they start',
          parameters: [
            { name: 'repository', in: 'query', required: true, schema: { type: 'string' } },
            { name: 'targetBranch', in: 'query', required: true, schema: { type: 'string' } },
          ],
          responses: { '200': { description: 'The lane', content: json('LaneDetail') }, ...problems(400, 404, ...always) },
        },
      },
      [`${base}/lanes/pause`]: {
        post: {
          operationId: 'pauseLane',
          summary: 'Pause a lane: it starts nothing (a running holder finishes); due groups wait',
          parameters: [parameters.actor],
          requestBody: { required: true, content: json('LanePauseRequest') },
          responses: { '200': { description: 'The paused lane', content: json('Lane') }, ...problems(400, 404, 409, 415, ...always) },
        },
      },
      [`${base}/lanes/resume`]: {
        post: {
          operationId: 'resumeLane',
          summary: 'Resume a paused lane: its first waiter starts at once if nothing holds it',
          parameters: [parameters.actor],
          requestBody: { required: true, content: json('LaneResumeRequest') },
          responses: { '200': { description: 'The resumed lane', content: json('Lane') }, ...problems(400, 404, 409, 415, ...always) },
        },
      },
      [`${base}/lanes/set`]: {
        post: {
          operationId: 'setLane',
          summary: 'Set a lane’s own overlap and failure policies (parallel releases every waiter)',
          parameters: [parameters.actor],
          requestBody: { required: true, content: json('LaneSettingsRequest') },
          responses: { '200': { description: 'The lane', content: json('Lane') }, ...problems(400, 404, 415, ...always) },
        },
      },
      [`${base}/webhooks`]: {
        get: {
          operationId: 'listWebhooks',
          summary: 'Every webhook subscription, oldest first (secrets by reference only)',
          responses: { '200': { description: 'The subscriptions', content: json('WebhookList') }, ...problems(400, 404, ...always) },
        },
        post: {
          operationId: 'addWebhook',
          summary: 'Subscribe a URL to the events its filters pass, signed with its secret',
          parameters: [parameters.actor],
          requestBody: { required: true, content: json('CreateWebhook') },
          responses: {
            '201': { description: 'Added', headers: { Location: { schema: { type: 'string' } } }, content: json('Webhook') },
            ...problems(400, 404, 409, 415, ...always),
          },
        },
      },
      [`${base}/webhooks/{id}`]: {
        parameters: [parameters.webhookId],
        get: {
          operationId: 'getWebhook',
          summary: 'One webhook subscription',
          responses: { '200': { description: 'The subscription', content: json('Webhook') }, ...problems(400, 404, ...always) },
        },
        delete: {
          operationId: 'removeWebhook',
          summary: 'Remove a subscription (its deliveries not yet made are dropped) and the secret made for it',
          responses: { '200': { description: 'The subscription removed', content: json('Webhook') }, ...problems(400, 404, 409, ...always) },
        },
      },
      [`${base}/freezes`]: {
        get: {
          operationId: 'listFreezes',
          summary: 'Every freeze window, oldest first, with the occurrence that holds now or next',
          responses: { '200': { description: 'The freeze windows', content: json('FreezeList') }, ...problems(400, 404, ...always) },
        },
        post: {
          operationId: 'addFreeze',
          summary: 'Add a freeze window: the lanes it covers start nothing while it holds',
          parameters: [parameters.actor],
          requestBody: { required: true, content: json('CreateFreeze') },
          responses: {
            '201': { description: 'Added', headers: { Location: { schema: { type: 'string' } } }, content: json('FreezeView') },
            ...problems(400, 404, 409, 415, ...always),
          },
        },
      },
      [`${base}/freezes/{id}`]: {
        parameters: [parameters.freezeId],
        get: {
          operationId: 'getFreeze',
          summary: 'One freeze window, with the occurrence that holds now or next',
          responses: { '200': { description: 'The freeze window', content: json('FreezeView') }, ...problems(400, 404, ...always) },
        },
        delete: {
          operationId: 'removeFreeze',
          summary: 'Remove a freeze window and release the groups it held',
          parameters: [parameters.actor],
          responses: { '200': { description: 'The freeze removed, and how many held groups were released', content: json('FreezeRemoved') }, ...problems(400, 404, ...always) },
        },
      },
      [`${base}/openapi.json`]: {
        get: {
          operationId: 'getOpenApiDocument',
          summary: 'This document',
          responses: { '200': { description: 'The OpenAPI 3.1 document', content: { 'application/json': { schema: { type: 'object' } } } }, ...problems(400, 500) },
        },
      },
    },
    components: {
      schemas,
      securitySchemes: {
        sigv4: {
          type: 'apiKey',
          name: 'Authorization',
          in: 'header',
          description: 'AWS Signature Version 4 (service execute-api) on a deployed stack; the local stack takes unsigned requests on 127.0.0.1.',
        },
      },
    },
  };
}
