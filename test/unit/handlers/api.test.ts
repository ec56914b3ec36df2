import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { GroupCommands } from '../../../functions/core/manage-groups.ts';
import { createHandler, requestFromEvent } from '../../../functions/handlers/api.ts';
import type { LoggerLike } from '../../../functions/shared/powertools.ts';
import { SettableClock } from '../../helpers/fakes.ts';
import { MemoryGroupStore } from '../../helpers/memory-group-store.ts';

const event = (name: string): APIGatewayProxyEvent =>
  JSON.parse(readFileSync(new URL(`../../../events/api/${name}`, import.meta.url), 'utf8')) as APIGatewayProxyEvent;
const ARN = 'arn:aws:sts::123456789012:assumed-role/release-tool/release-tool';

describe('api handler', () => {
  describe('requestFromEvent', () => {
    it('reads method, path, lower-cased headers, the principal and the request id of a proxy event', () => {
      // Act
      const request = requestFromEvent(event('create-group.json'));

      // Assess
      expect(request).toMatchObject({ method: 'POST', path: '/v1/groups', principal: `iam:${ARN}`, requestId: 'c0ffee00-0000-4000-8000-000000000001' });
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers['x-promotion-scheduler-actor']).toBe('service:release-tool');
      expect(JSON.parse(request.body!)).toMatchObject({ id: 'sample-release-42' });
    });

    it('keeps every value of a repeated header (joined) and of a repeated query parameter, and decodes a base64 body', () => {
      // Prepare
      const base = event('list-groups.json');
      const repeated: APIGatewayProxyEvent = {
        ...base,
        headers: { ...base.headers, 'If-None-Match': '"2"' },
        multiValueHeaders: { ...base.multiValueHeaders, 'If-None-Match': ['"1"', '"2"'] },
        queryStringParameters: { status: 'Pending' },
        multiValueQueryStringParameters: { status: ['Scheduled', 'Pending'] },
        body: Buffer.from('{"a":1}').toString('base64'),
        isBase64Encoded: true,
      };

      // Act
      const request = requestFromEvent(repeated);

      // Assess
      expect(request.headers['if-none-match']).toBe('"1", "2"');
      expect(request.query).toEqual({ status: ['Scheduled', 'Pending'] });
      expect(request.body).toBe('{"a":1}');
    });

    it('has no principal without an IAM identity (the local server), and takes null headers and query', () => {
      // Prepare
      const base = event('get-group.json');
      const bare = { ...base, headers: null, multiValueHeaders: null, queryStringParameters: null, multiValueQueryStringParameters: null, requestContext: { ...base.requestContext, identity: { ...base.requestContext.identity, userArn: null } } } as unknown as APIGatewayProxyEvent;

      // Act
      const request = requestFromEvent(bare);

      // Assess
      expect(request).toMatchObject({ method: 'GET', path: '/v1/groups/sample-release-42', headers: {}, query: {} });
      expect(request).not.toHaveProperty('principal');
    });
  });

  describe('createHandler', () => {
    it('answers the sample events: create names the caller and its principal, get answers the group, a bad create names every bad field', async () => {
      // Prepare
      const store = new MemoryGroupStore({ shardCount: 2 });
      const logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn(), debug: vi.fn() };
      const handler = createHandler({ commands: new GroupCommands({ store, clock: new SettableClock('2026-12-24T08:15:00Z') }), logger: logger as unknown as LoggerLike });

      // Act
      const created = await handler(event('create-group.json'));
      const got = await handler(event('get-group.json'));
      const invalid = await handler(event('invalid-create.json'));

      // Assess
      expect(created).toMatchObject({ statusCode: 201, headers: { ETag: '"1"', Location: '/prod/v1/groups/sample-release-42' } });
      expect(store.peek('sample-release-42')?.history[0]?.by).toBe(`service:release-tool via iam:${ARN}`);
      expect([got.statusCode, JSON.parse(got.body)]).toEqual([200, JSON.parse(created.body)]);
      expect(invalid).toMatchObject({ statusCode: 400, headers: { 'Content-Type': 'application/problem+json' } });
      expect((JSON.parse(invalid.body) as { errors: { field: string }[] }).errors.map((e) => e.field)).toEqual(['colour', 'promotions[0].source', 'scheduledAt']);
      expect(logger.error).not.toHaveBeenCalled();
    });
  });
});
