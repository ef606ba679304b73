import { describe, expect, it } from 'vitest';
import { REDACTED, Redactor } from '../../suites/lib/redact.js';

describe('Redactor', () => {
  it('scrubs values in plain, base64 and URL-encoded form', () => {
    const r = new Redactor();
    r.add('s3cr3t/value+x');
    const b64 = Buffer.from('s3cr3t/value+x').toString('base64');
    const text = `a s3cr3t/value+x b ${b64} c ${encodeURIComponent('s3cr3t/value+x')}`;
    expect(r.scrub(text)).toBe(`a ${REDACTED} b ${REDACTED} c ${REDACTED}`);
  });

  it('scrubs the password inside a connection string on its own', () => {
    const r = new Redactor();
    r.add('postgresql://todo:pa55word-xyz@db.example:5432/todo?sslmode=require');
    expect(r.scrub('auth failed for password pa55word-xyz')).toBe(`auth failed for password ${REDACTED}`);
    expect(r.scrub('postgresql://todo:pa55word-xyz@db.example:5432/todo?sslmode=require')).toBe(REDACTED);
  });

  it('reads Secret data as Kubernetes stores it', () => {
    const r = new Redactor();
    r.addSecretData({ BETTER_AUTH_SECRET: Buffer.from('canary-7f3a9').toString('base64') });
    expect(r.scrub('token signed with canary-7f3a9')).toBe(`token signed with ${REDACTED}`);
  });

  it('leaves very short values alone and counts them', () => {
    const r = new Redactor();
    r.add('on');
    expect(r.scrub('turned on')).toBe('turned on');
    expect(r.tooShort).toBe(1);
  });

  it('replaces the longest value first and escapes regex characters', () => {
    const r = new Redactor();
    r.add('abcd');
    r.add('abcd.*efgh');
    expect(r.scrub('x abcd.*efgh y abcd z')).toBe(`x ${REDACTED} y ${REDACTED} z`);
  });

  it('scrubs deep inside objects, keys included', () => {
    const r = new Redactor();
    r.add('topsecret1');
    expect(r.scrubDeep({ a: ['topsecret1', 3], topsecret1: { b: 'x topsecret1' } })).toEqual({ a: [REDACTED, 3], [REDACTED]: { b: `x ${REDACTED}` } });
  });
});
