import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { UrlSigner, URL_TTL_SECONDS } from '../../src/jobs/signing.js';

describe('UrlSigner', () => {
  const signer = new UrlSigner('secret-1');
  const job = { partitionId: 7, id: 'job_abc' };
  const now = Date.UTC(2026, 0, 1);

  test('a signed URL is HMAC-SHA256 over partition, job, name and expiry, valid for an hour', () => {
    const url = new URL(signer.signedFileUrl('https://x.example', job, 'export.ndjson', now));
    assert.equal(url.pathname, '/v1/bulk/files/job_abc/export.ndjson');
    const expires = url.searchParams.get('expires')!;
    assert.equal(Number(expires), now / 1000 + URL_TTL_SECONDS);
    const expected = createHmac('sha256', 'secret-1').update(`7\njob_abc\nexport.ndjson\n${expires}`).digest('base64url');
    assert.equal(url.searchParams.get('signature'), expected);
    assert.equal(signer.check(job, 'export.ndjson', expires, expected, now), 'valid');
    assert.equal(signer.check(job, 'export.ndjson', expires, expected, now + URL_TTL_SECONDS * 1000), 'expired');
  });

  test('anything changed is invalid: partition, job, name, expiry, signature, secret', () => {
    const url = new URL(signer.signedFileUrl('https://x.example', job, 'a.ndjson', now));
    const expires = url.searchParams.get('expires')!;
    const signature = url.searchParams.get('signature')!;
    assert.equal(signer.check({ ...job, partitionId: 8 }, 'a.ndjson', expires, signature, now), 'invalid');
    assert.equal(signer.check({ ...job, id: 'job_abd' }, 'a.ndjson', expires, signature, now), 'invalid');
    assert.equal(signer.check(job, 'b.ndjson', expires, signature, now), 'invalid');
    assert.equal(signer.check(job, 'a.ndjson', String(Number(expires) + 1), signature, now), 'invalid');
    assert.equal(signer.check(job, 'a.ndjson', expires, `${signature.slice(0, -1)}A`, now), signature.endsWith('A') ? 'valid' : 'invalid');
    assert.equal(signer.check(job, 'a.ndjson', expires, undefined, now), 'invalid');
    assert.equal(signer.check(job, 'a.ndjson', 'soon', signature, now), 'invalid');
    assert.equal(new UrlSigner('secret-2').check(job, 'a.ndjson', expires, signature, now), 'invalid');
  });

  test('without a configured secret it must be loaded first', () => {
    assert.throws(() => new UrlSigner(undefined).sign(job, 'a', 1), /before load/);
  });
});
