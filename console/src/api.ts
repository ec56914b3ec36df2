/**
 * The console's door to the HTTP API (docs/api.md), at the same origin under `/v1`. A small
 * fetch wrapper rather than the typed client: the client signs with SigV4 through Node's
 * crypto and the AWS SDK, which a browser neither has nor needs (the local stack takes
 * unsigned calls; `promotion-scheduler console` signs them on the way to a deployed stack).
 *
 * Reads are conditional: an answer's `ETag` is sent back as `If-None-Match`, and a `304` (or
 * an answer identical to the last one) is reported as unchanged, so a view polled every second
 * redraws only when something moved. Every refusal is an {@link ApiError} carrying the
 * problem document (RFC 9457).
 */
import type { AddFreezeInput, CreateGroupInput, FreezeView, GroupChanges, GroupPage, GroupStatus, Lane, LaneDetail, LanePage, PromotionGroup, RemovedFreeze } from '../../client/types.ts';

/** One bad field of a `400 validation` problem. */
export interface FieldProblem {
  field?: string;
  message: string;
}

/** An RFC 9457 problem document as the API answers it, plus what some problems carry. */
export interface Problem {
  type?: string;
  title: string;
  /** The HTTP status; 0 when the API could not be reached. */
  status: number;
  detail?: string;
  errors?: FieldProblem[];
  /** The group as it is now (`412 precondition-failed`, `409 conflict`, `409 transition-refused`). */
  group?: PromotionGroup;
  [member: string]: unknown;
}

/** A request the API refused, or one that did not reach it. */
export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super([problem.title, problem.detail].filter(Boolean).join(': '));
    this.name = 'ApiError';
  }
}

/** A read's answer: `changed` is false when it is the same as the last answer to the same URL. */
export interface Read<T> {
  body: T;
  changed: boolean;
}

/** The filters of `GET /v1/groups` (docs/api.md, "Listing"); times ISO-8601 with an offset. */
export interface GroupQuery {
  status?: GroupStatus;
  repository?: string;
  targetBranch?: string;
  dueAfter?: string;
  dueBefore?: string;
  cursor?: string;
  limit?: number;
}

const BASE = '/v1';
const JSON_HEADERS = { Accept: 'application/json, application/problem+json' };

interface Remembered {
  etag: string | null;
  text: string;
  body: unknown;
}

/** The last answer per URL; bounded, since the timeline's URL moves with the clock. */
const lastAnswers = new Map<string, Remembered>();
const REMEMBERED_ANSWERS = 50;

/** A page of groups (`GET /v1/groups`). */
export function listGroups(query: GroupQuery, signal?: AbortSignal): Promise<Read<GroupPage>> {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(name, String(value));
  return read<GroupPage>(`${BASE}/groups?${params}`, signal);
}

/**
 * Every group a query matches, following `nextCursor` up to `maxPages` pages (a page may be
 * short, even empty, before the last). `complete` is false when pages were left.
 */
export async function listAllGroups(query: Omit<GroupQuery, 'cursor'>, signal?: AbortSignal, maxPages = 5): Promise<Read<PromotionGroup[]> & { complete: boolean }> {
  const items: PromotionGroup[] = [];
  let changed = false;
  let cursor: string | undefined;
  for (let page = 0; page < maxPages; page += 1) {
    const answer = await listGroups({ ...query, ...(cursor === undefined ? {} : { cursor }) }, signal);
    items.push(...answer.body.items);
    changed ||= answer.changed;
    if (answer.body.nextCursor === null) return { body: items, changed, complete: true };
    cursor = answer.body.nextCursor;
  }
  return { body: items, changed, complete: false };
}

/** One group (`GET /v1/groups/{id}`), with `If-None-Match` of the version last seen. */
export function getGroup(id: string, signal?: AbortSignal): Promise<Read<PromotionGroup>> {
  return read<PromotionGroup>(groupPath(id), signal);
}

/** Create a group (`POST /v1/groups`); `idempotencyKey` makes sending it again safe. */
export async function createGroup(input: CreateGroupInput, idempotencyKey: string): Promise<PromotionGroup> {
  return send<PromotionGroup>('POST', `${BASE}/groups`, input, { 'Idempotency-Key': idempotencyKey });
}

/** Cancel a group (`POST /v1/groups/{id}/cancel`) only if it is still at `version` (`If-Match`). */
export async function cancelGroup(id: string, version: number, reason?: string): Promise<PromotionGroup> {
  return send<PromotionGroup>('POST', `${groupPath(id)}/cancel`, reason ? { reason } : {}, { 'If-Match': `"${version}"` });
}

/** Change a `Pending` or `Scheduled` group's time or promotions (`PATCH /v1/groups/{id}`) only if it is still at `version`. */
export async function updateGroup(id: string, version: number, changes: GroupChanges): Promise<PromotionGroup> {
  return send<PromotionGroup>('PATCH', groupPath(id), changes, { 'If-Match': `"${version}"` });
}

/** Put a `Failed` or `Conflicted` group back to `Scheduled` (`POST /v1/groups/{id}/retry`) only if it is still at `version`. */
export async function retryGroup(id: string, version: number, body: { reason?: string; scheduledAt?: string }): Promise<PromotionGroup> {
  return send<PromotionGroup>('POST', `${groupPath(id)}/retry`, body, { 'If-Match': `"${version}"` });
}

/** Every freeze window with its current or next occurrence (`GET /v1/freezes`). */
export function listFreezes(signal?: AbortSignal): Promise<Read<{ items: FreezeView[] }>> {
  return read<{ items: FreezeView[] }>(`${BASE}/freezes`, signal);
}

/** Add a freeze window (`POST /v1/freezes`). No `Idempotency-Key` there: an add sent twice makes two. */
export function addFreeze(input: AddFreezeInput): Promise<FreezeView> {
  return send<FreezeView>('POST', `${BASE}/freezes`, input, {});
}

/** Remove a freeze window (`DELETE /v1/freezes/{id}`): the answer says how many held groups were released. */
export function removeFreeze(id: string): Promise<RemovedFreeze> {
  return send<RemovedFreeze>('DELETE', `${BASE}/freezes/${encodeURIComponent(id)}`, undefined, {});
}

/** A page of lanes (`GET /v1/lanes`), up to 100; `cursor`: the last page's `nextCursor` (absent: the first). */
export function listLanes(signal?: AbortSignal, cursor?: string): Promise<Read<LanePage>> {
  const params = new URLSearchParams({ limit: '100' });
  if (cursor !== undefined) params.set('cursor', cursor);
  return read<LanePage>(`${BASE}/lanes?${params}`, signal);
}

/** Every lane, following `nextCursor` up to `maxPages` pages; `complete` is false when pages were left. */
export async function listAllLanes(signal?: AbortSignal, maxPages = 5): Promise<Read<Lane[]> & { complete: boolean }> {
  const items: Lane[] = [];
  let changed = false;
  let cursor: string | undefined;
  for (let page = 0; page < maxPages; page += 1) {
    const answer = await listLanes(signal, cursor);
    items.push(...answer.body.items);
    changed ||= answer.changed;
    if (answer.body.nextCursor === null) return { body: items, changed, complete: true };
    cursor = answer.body.nextCursor;
  }
  return { body: items, changed, complete: false };
}

/** One lane with its holder's and its waiters' groups (`GET /v1/lanes/show`). */
export function getLane(repository: string, targetBranch: string, signal?: AbortSignal): Promise<Read<LaneDetail>> {
  return read<LaneDetail>(`${BASE}/lanes/show?${new URLSearchParams({ repository, targetBranch })}`, signal);
}

/** Pause a lane (`POST /v1/lanes/pause`): it starts nothing until resumed. */
export function pauseLane(repository: string, targetBranch: string, reason: string): Promise<Lane> {
  return send<Lane>('POST', `${BASE}/lanes/pause`, { repository, targetBranch, reason }, {});
}

/** Resume a paused lane (`POST /v1/lanes/resume`). */
export function resumeLane(repository: string, targetBranch: string): Promise<Lane> {
  return send<Lane>('POST', `${BASE}/lanes/resume`, { repository, targetBranch }, {});
}

/** A fresh `Idempotency-Key` (random, 128 bits); works outside secure contexts too. */
export function newIdempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function groupPath(id: string): string {
  return `${BASE}/groups/${encodeURIComponent(id)}`;
}

async function read<T>(url: string, signal?: AbortSignal): Promise<Read<T>> {
  const last = lastAnswers.get(url);
  const headers: Record<string, string> = { ...JSON_HEADERS };
  if (last?.etag) headers['If-None-Match'] = last.etag;
  const response = await call(url, { headers, ...(signal ? { signal } : {}) });
  if (response.status === 304 && last) return { body: last.body as T, changed: false };
  if (!response.ok) throw new ApiError(await problemOf(response));
  const text = await response.text();
  if (last && last.text === text) return { body: last.body as T, changed: false };
  const body = JSON.parse(text) as T;
  lastAnswers.delete(url);
  lastAnswers.set(url, { etag: response.headers.get('ETag'), text, body });
  if (lastAnswers.size > REMEMBERED_ANSWERS) lastAnswers.delete(lastAnswers.keys().next().value as string);
  return { body, changed: true };
}

/** A change; `body` undefined: none sent (a `DELETE`). */
async function send<T>(method: string, url: string, body: unknown, extra: Record<string, string>): Promise<T> {
  const init: RequestInit =
    body === undefined
      ? { method, headers: { ...JSON_HEADERS, ...extra } }
      : { method, headers: { ...JSON_HEADERS, 'Content-Type': 'application/json', ...extra }, body: JSON.stringify(body) };
  const response = await call(url, init);
  if (!response.ok) throw new ApiError(await problemOf(response));
  return (await response.json()) as T;
}

/**
 * How long a request may go unanswered before the console gives up on it: beyond the 29 s a
 * deployed API Gateway gives its integration, so an answer that can still come is waited for,
 * and a dialog waiting on a change that never answers does not stay busy forever.
 */
export const REQUEST_TIMEOUT_MS = 35_000;

async function call(url: string, init: RequestInit): Promise<Response> {
  const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
  try {
    return await fetch(url, { ...init, signal, cache: 'no-store' });
  } catch (error) {
    if (init.signal?.aborted) throw error;
    const change = init.method !== undefined && init.method !== 'GET';
    const detail = timeout.aborted
      ? `No answer within ${REQUEST_TIMEOUT_MS / 1000} s.${change ? ' The change may or may not have been applied: look at the current state before sending it again.' : ''}`
      : `${error instanceof Error ? error.message : String(error)}. Is the stack running?`;
    throw new ApiError({ title: 'The API did not answer', status: 0, detail });
  }
}

async function problemOf(response: Response): Promise<Problem> {
  const text = await response.text();
  try {
    const parsed = JSON.parse(text) as Partial<Problem>;
    if (parsed && typeof parsed === 'object' && typeof parsed.title === 'string') return { ...parsed, title: parsed.title, status: parsed.status ?? response.status };
  } catch {
    // Not JSON: described from the status below.
  }
  return { title: `The API answered ${response.status} ${response.statusText}`.trim(), status: response.status, ...(text ? { detail: text.slice(0, 300) } : {}) };
}

/** Whether an error is the abort of a request the console no longer needs. */
export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}
