// The bearer token: kept in sessionStorage (this tab only), read once from
// a #token=… fragment (the link scripts/run.sh can print), which is then
// removed from the address bar.

const KEY = 'mod_ingest.token';

export function getToken() {
  try {
    return sessionStorage.getItem(KEY) || '';
  } catch {
    return '';
  }
}

export function setToken(token) {
  try {
    if (token) sessionStorage.setItem(KEY, token);
    else sessionStorage.removeItem(KEY);
  } catch {
    // storage disabled: the token lives as long as the page
  }
}

/**
 * A token passed as #token=… in the URL, or '' when there is none. The
 * fragment is removed from the address bar and the history entry either
 * way, so it is read once and never bookmarked or shared by accident.
 */
export function takeFragmentToken() {
  const hash = window.location.hash;
  if (!hash || hash.length < 2) return '';
  const params = new URLSearchParams(hash.slice(1));
  if (!params.has('token')) return '';
  const token = (params.get('token') || '').trim();
  params.delete('token');
  const rest = params.toString();
  const url = window.location.pathname + window.location.search + (rest ? `#${rest}` : '');
  window.history.replaceState(window.history.state, '', url);
  return token;
}

/**
 * What the token says about its holder, for display only (the server
 * verifies it): {user, tenant} from the usual sub and org_id claims.
 */
export function describeToken(token) {
  try {
    const part = token.split('.')[1];
    if (!part) return null;
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    const json = new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
    const claims = JSON.parse(json);
    const str = (v) => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');
    return { user: str(claims.sub), tenant: str(claims.org_id) };
  } catch {
    return null;
  }
}
