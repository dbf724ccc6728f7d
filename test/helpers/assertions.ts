import assert from 'node:assert/strict';
import type { Response } from './app.js';

/** The documented error body on the simplified and admin APIs (contract §5). */
export function assertApiError(res: Response, status: number, code: string, context = ''): void {
  const where = `${context} → ${res.status} ${res.body.slice(0, 300)}`;
  assert.equal(res.status, status, where);
  assert.match(String(res.headers['content-type']), /^application\/json\b/, where);
  assert.ok(res.json && typeof res.json === 'object' && !Array.isArray(res.json), where);
  assert.deepEqual(Object.keys(res.json).sort(), ['code', 'error', 'issue', 'issues', 'message', 'requestId'], where);
  assert.equal(res.json.code, code, where);
  assert.equal(typeof res.json.error, 'string', where);
  assert.ok(res.json.error.length > 0, where);
  assert.equal(typeof res.json.message, 'string', where);
  assert.ok(res.json.message.length > 0, where);
  assert.match(res.json.requestId, /^req_[a-z0-9]+$/, where);
  assert.equal(res.headers['x-request-id'], res.json.requestId, where);
  assert.ok(Array.isArray(res.json.issues), where);
  assert.deepEqual(res.json.issue, res.json.issues, where);
  for (const issue of res.json.issues) {
    assert.equal(typeof issue.severity, 'string', where);
    assert.equal(typeof issue.code, 'string', where);
    assert.equal(typeof issue.diagnostics, 'string', where);
  }
}

/** A FHIR OperationOutcome error (the /v1/fhir surface), served as application/fhir+json. */
export function assertOutcome(res: Response, status: number, issueCode?: string, context = ''): void {
  const where = `${context} → ${res.status} ${res.body.slice(0, 300)}`;
  assert.equal(res.status, status, where);
  assert.match(String(res.headers['content-type']), /^application\/fhir\+json\b/, where);
  assert.equal(res.json?.resourceType, 'OperationOutcome', where);
  assert.ok(Array.isArray(res.json.issue) && res.json.issue.length > 0, where);
  for (const issue of res.json.issue) {
    assert.ok(['fatal', 'error', 'warning', 'information'].includes(issue.severity), where);
    assert.equal(typeof issue.code, 'string', where);
  }
  if (issueCode) assert.equal(res.json.issue[0].code, issueCode, where);
  assert.match(String(res.headers['x-request-id']), /^req_[a-z0-9]+$/, where);
}

export const TENANT_TAG_SYSTEM = 'https://clinikapi.com/tenant';

/** The tenant tag codes on a FHIR resource. */
export function tenantTags(resource: { meta?: { tag?: Array<{ system?: string; code?: string }> } }): string[] {
  return (resource.meta?.tag ?? []).filter((tag) => tag.system === TENANT_TAG_SYSTEM).map((tag) => String(tag.code));
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
