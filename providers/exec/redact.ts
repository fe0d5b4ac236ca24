/**
 * How a bad input value is shown in an error message. A private key pasted into the wrong
 * field (host, user, hostKey) must not leak through the message that rejects it, so anything
 * that looks like key material is never echoed, not even a prefix.
 */
const KEY_MATERIAL = /PRIVATE KEY|BEGIN OPENSSH|PuTTY-User-Key-File|^[A-Za-z0-9+/=\s-]{120,}$/;

export function showValue(v: unknown, max = 80): string {
  if (typeof v !== 'string') return String(v);
  if (KEY_MATERIAL.test(v)) return '(a value that looks like key material; not shown)';
  return JSON.stringify(v.length > max ? v.slice(0, max) + '...' : v);
}
