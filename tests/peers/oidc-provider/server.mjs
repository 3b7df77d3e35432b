// Loopback stand-in for the authorization servers emsg talks to (HMRC, ID-porten + Altinn).
// A real, independent OAuth 2.0 / OpenID Connect server (oidc-provider) configured like each
// provider. See README.md for the environment variables and the /_test routes.
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import process from 'node:process';

import Provider from 'oidc-provider';

const log = (...args) => process.stderr.write(`[oidc-peer] ${args.join(' ')}\n`);

// ---------------------------------------------------------------------------------------------
// Configuration from the environment
// ---------------------------------------------------------------------------------------------

const PROFILES = {
  idporten: {
    scopes: [
      'openid', 'profile', 'offline_access',
      'skatteetaten:mvameldingvalidering', 'skatteetaten:mvameldinginnsending',
    ],
    authMethod: 'client_secret_basic',
    pkceRequired: true,
    parallelRefresh: 'queue',
    accessTtl: 120,
    refreshTtl: 365 * 24 * 3600,
  },
  hmrc: {
    scopes: [
      'read:vat', 'write:vat', 'read:self-assessment', 'write:self-assessment', 'hello',
    ],
    authMethod: 'client_secret_post',
    pkceRequired: false,
    parallelRefresh: 'reject',
    accessTtl: 14400,
    refreshTtl: 18 * 30 * 24 * 3600,
  },
};

function fail(message) {
  log(`configuration error: ${message}`);
  process.exit(2);
}

function intEnv(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number.parseInt(raw, 10);
  if (!Number.isSafeInteger(value) || value < 0) fail(`${name} must be a non-negative integer`);
  return value;
}

const profileName = process.env.PROFILE || 'idporten';
const profile = PROFILES[profileName];
if (!profile) fail(`PROFILE must be one of ${Object.keys(PROFILES).join(', ')}`);

const port = intEnv('PORT', 0);
const accessTtl = intEnv('ACCESS_TOKEN_TTL', profile.accessTtl);
const refreshTtl = intEnv('REFRESH_TOKEN_TTL', profile.refreshTtl);
const codeTtl = intEnv('CODE_TTL', 600);
const exchangeQuoted = process.env.EXCHANGE_QUOTED === '1';
const refreshDelayMs = intEnv('REFRESH_DELAY_MS', 0);
// `revoke-grant` (oidc-provider's own behaviour): presenting an already rotated refresh token
// revokes the whole grant. `reject`: the old token is only rejected (invalid_grant).
const refreshReuse = process.env.REFRESH_REUSE || 'revoke-grant';
if (!['revoke-grant', 'reject'].includes(refreshReuse)) fail('REFRESH_REUSE must be revoke-grant or reject');
const extraScopes = (process.env.EXTRA_SCOPES || '').split(/\s+/).filter(Boolean);

let clients;
try {
  clients = JSON.parse(process.env.CLIENTS || '[]');
} catch (err) {
  fail(`CLIENTS is not JSON: ${err.message}`);
}
if (!Array.isArray(clients)) fail('CLIENTS must be a JSON array');
clients = clients.map((c) => ({
  client_id: c.client_id,
  client_secret: c.client_secret,
  redirect_uris: c.redirect_uris,
  token_endpoint_auth_method: c.token_endpoint_auth_method || profile.authMethod,
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
}));

// ---------------------------------------------------------------------------------------------
// Storage: an in-memory adapter we can search (revoke every grant of an account).
// ---------------------------------------------------------------------------------------------

const store = new Map(); // `${model}:${id}` -> { payload, expiresAt }
const grantMembers = new Map(); // grantId -> Set of keys

function alive(key) {
  const entry = store.get(key);
  if (!entry) return undefined;
  if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
    store.delete(key);
    return undefined;
  }
  return entry;
}

function revokeGrantMembers(grantId) {
  for (const key of grantMembers.get(grantId) ?? []) store.delete(key);
  grantMembers.delete(grantId);
}

class TestAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : undefined;
    store.set(key, { payload, expiresAt });
    if (payload.grantId && this.model !== 'Grant') {
      if (!grantMembers.has(payload.grantId)) grantMembers.set(payload.grantId, new Set());
      grantMembers.get(payload.grantId).add(key);
    }
  }

  async find(id) {
    const entry = alive(this.key(id));
    if (!entry) return undefined;
    if (this.model === 'RefreshToken' && entry.payload.consumed && refreshReuse === 'reject') {
      return undefined; // -> invalid_grant "refresh token not found", grant untouched
    }
    return entry.payload;
  }

  async findBy(field, value) {
    for (const key of store.keys()) {
      if (!key.startsWith(`${this.model}:`)) continue;
      const entry = alive(key);
      if (entry && entry.payload[field] === value) return entry.payload;
    }
    return undefined;
  }

  async findByUid(uid) {
    return this.findBy('uid', uid);
  }

  async findByUserCode(userCode) {
    return this.findBy('userCode', userCode);
  }

  async consume(id) {
    const entry = alive(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    store.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    for (const key of grantMembers.get(grantId) ?? []) {
      if (key.startsWith(`${this.model}:`)) store.delete(key);
    }
  }
}

function revokeAccountGrants(account) {
  const grantIds = [];
  for (const key of [...store.keys()]) {
    if (!key.startsWith('Grant:')) continue;
    const entry = alive(key);
    if (entry && entry.payload.accountId === account) {
      const grantId = key.slice('Grant:'.length);
      grantIds.push(grantId);
      revokeGrantMembers(grantId);
      store.delete(key);
    }
  }
  return grantIds;
}

// ---------------------------------------------------------------------------------------------
// Token-endpoint counters
// ---------------------------------------------------------------------------------------------

let counts = {};

function count(grantType, outcome) {
  counts[grantType] ??= {};
  counts[grantType][outcome] = (counts[grantType][outcome] ?? 0) + 1;
}

// ---------------------------------------------------------------------------------------------
// Signing key (ID tokens and the Altinn-like exchange token)
// ---------------------------------------------------------------------------------------------

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const kid = crypto.randomBytes(8).toString('hex');
const signingJwk = { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };

function signJwt(claims) {
  const b64 = (obj) => Buffer.from(JSON.stringify(obj)).toString('base64url');
  const input = `${b64({ alg: 'RS256', typ: 'JWT', kid })}.${b64(claims)}`;
  const signature = crypto.sign('sha256', Buffer.from(input), privateKey).toString('base64url');
  return `${input}.${signature}`;
}

// ---------------------------------------------------------------------------------------------
// HTML for the login and consent interactions
// ---------------------------------------------------------------------------------------------

const escapeHtml = (value) => String(value).replace(/[&<>"']/g, (ch) => ({
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
}[ch]));

function page(lang, title, body) {
  return `<!DOCTYPE html>
<html lang="${escapeHtml(lang)}">
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>
`;
}

async function readForm(req) {
  return new URLSearchParams((await readBody(req)).toString('utf8'));
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > 64 * 1024) {
        reject(new Error('form too large'));
        req.destroy();
      } else {
        chunks.push(chunk);
      }
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res, status, type, body, extraHeaders = {}) {
  res.writeHead(status, {
    'Content-Type': type,
    'Cache-Control': 'no-store',
    'Content-Length': Buffer.byteLength(body),
    ...extraHeaders,
  });
  res.end(body);
}

const sendJson = (res, status, value) => send(res, status, 'application/json', `${JSON.stringify(value)}\n`);

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

let provider;
let providerCallback;
let issuer;

async function interactionRoute(req, res, url) {
  const match = /^\/interaction\/([^/]+)(?:\/(login|consent|abort))?$/.exec(url.pathname);
  if (!match) return send(res, 404, 'text/plain', 'not found\n');
  const [, uid, action] = match;
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, 'text/plain', 'interaction mismatch\n');
  const { prompt, params, session } = details;
  const lang = (params.ui_locales || 'nb').split(' ')[0];

  if (!action && req.method === 'GET') {
    const abort = `<p><a id="abort" href="/interaction/${escapeHtml(uid)}/abort">Cancel</a></p>`;
    if (prompt.name === 'login') {
      return send(res, 200, 'text/html; charset=utf-8', page(lang, 'Sign-in', `
<p>Client: ${escapeHtml(params.client_id)}</p>
<form id="login" method="post" action="/interaction/${escapeHtml(uid)}/login" autocomplete="off">
  <input type="hidden" name="uid" value="${escapeHtml(uid)}">
  <label>User <input type="text" name="login" required></label>
  <label>Password <input type="password" name="password"></label>
  <button type="submit">Sign in</button>
</form>
${abort}`));
    }
    if (prompt.name === 'consent') {
      const scopes = (params.scope || '').split(' ').filter(Boolean);
      return send(res, 200, 'text/html; charset=utf-8', page(lang, 'Authorize', `
<p>${escapeHtml(params.client_id)} asks for: ${scopes.map((s) => `<code>${escapeHtml(s)}</code>`).join(' ')}</p>
<form id="consent" method="post" action="/interaction/${escapeHtml(uid)}/consent">
  <input type="hidden" name="uid" value="${escapeHtml(uid)}">
  <button type="submit" name="decision" value="allow">Allow</button>
</form>
${abort}`));
    }
    return send(res, 501, 'text/plain', `prompt ${prompt.name} not implemented\n`);
  }

  if (action === 'abort' && req.method === 'GET') {
    return provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
  }

  if (action === 'login' && req.method === 'POST') {
    if (prompt.name !== 'login') return send(res, 400, 'text/plain', 'not at the login prompt\n');
    const form = await readForm(req);
    const account = (form.get('login') || '').trim();
    if (!account) return send(res, 400, 'text/plain', 'login required\n');
    const requestedAcr = (params.acr_values || '').split(' ').filter(Boolean);
    const acr = profileName === 'idporten'
      ? (requestedAcr.find((v) => v.startsWith('idporten-loa-')) || 'idporten-loa-substantial')
      : undefined;
    return provider.interactionFinished(req, res, {
      login: { accountId: account, acr, amr: ['pwd'] },
    }, { mergeWithLastSubmission: false });
  }

  if (action === 'consent' && req.method === 'POST') {
    if (prompt.name !== 'consent') return send(res, 400, 'text/plain', 'not at the consent prompt\n');
    await readForm(req);
    const { grantId } = details;
    const grant = grantId
      ? await provider.Grant.find(grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
    if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
    if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
    if (missingResourceScopes) {
      for (const [indicator, scope] of Object.entries(missingResourceScopes)) {
        grant.addResourceScope(indicator, scope.join(' '));
      }
    }
    return provider.interactionFinished(req, res, {
      consent: { grantId: await grant.save() },
    }, { mergeWithLastSubmission: true });
  }

  return send(res, 405, 'text/plain', 'method not allowed\n');
}

async function exchangeRoute(req, res) {
  const header = req.headers.authorization || '';
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  const unauthorized = (why) => {
    log(`exchange rejected: ${why}`);
    return send(res, 401, 'application/json', `${JSON.stringify({ error: 'invalid_token', error_description: why })}\n`, {
      'WWW-Authenticate': 'Bearer error="invalid_token"',
    });
  };
  if (!match) return unauthorized('missing bearer token');
  const token = await provider.AccessToken.find(match[1]);
  if (!token) return unauthorized('unknown or expired access token');
  if (token.isExpired) return unauthorized('expired access token');
  const now = Math.floor(Date.now() / 1000);
  const jwt = signJwt({
    iss: `${issuer}/exchange`,
    sub: token.accountId,
    client_id: token.clientId,
    scope: token.scope,
    iat: now,
    nbf: now,
    exp: token.exp,
    jti: crypto.randomUUID(),
  });
  const body = exchangeQuoted ? JSON.stringify(jwt) : jwt;
  return send(res, 200, exchangeQuoted ? 'application/json' : 'text/plain; charset=utf-8', body);
}

async function testRoute(req, res, url) {
  if (url.pathname === '/_test/counts' && req.method === 'GET') return sendJson(res, 200, counts);
  if (url.pathname === '/_test/reset-counts' && req.method === 'POST') {
    counts = {};
    return sendJson(res, 200, counts);
  }
  if (url.pathname === '/_test/revoke-grants' && req.method === 'POST') {
    const account = url.searchParams.get('account');
    if (!account) return sendJson(res, 400, { error: 'account query parameter required' });
    const revoked = revokeAccountGrants(account);
    log(`revoked ${revoked.length} grant(s) of ${account}`);
    return sendJson(res, 200, { account, revoked_grants: revoked.length });
  }
  return sendJson(res, 404, { error: 'no such test route' });
}

// oidc-provider lets a client registered for client_secret_basic use client_secret_post and the
// other way round. The real providers insist on the registered method, and so does the stand-in
// (unless STRICT_CLIENT_AUTH=0).
const CLIENT_AUTH_PATHS = new Set(['/token', '/token/revocation', '/token/introspection']);
const strictAuth = process.env.STRICT_CLIENT_AUTH !== '0';

function strictClientAuth(req, body) {
  if (!strictAuth) return undefined;
  let method;
  let clientId;
  const header = req.headers.authorization;
  if (header !== undefined) {
    const [scheme, value] = header.split(' ');
    if (scheme?.toLowerCase() !== 'basic' || !value) return undefined; // oidc-provider answers
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon === -1) return undefined;
    try {
      clientId = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, '%20'));
    } catch {
      return undefined;
    }
    method = 'client_secret_basic';
  } else if (body.has('client_secret')) {
    method = 'client_secret_post';
    clientId = body.get('client_id');
  } else {
    return undefined;
  }
  const client = clients.find((c) => c.client_id === clientId);
  if (client && client.token_endpoint_auth_method !== method) {
    return `client ${clientId} is registered for ${client.token_endpoint_auth_method}, not ${method}`;
  }
  return undefined;
}

// Refreshes of one refresh token never overlap. HMRC answers an overlapping one with
// invalid_request "Refresh operation is already in progress"; the idporten profile queues it, so
// it then meets an already rotated token (invalid_grant). REFRESH_DELAY_MS holds every refresh
// that long, to make overlaps easy to provoke.
const refreshesInFlight = new Map(); // refresh token -> promise settled when its refreshes end

async function enterRefresh(refreshToken, res) {
  const previous = refreshesInFlight.get(refreshToken);
  if (previous && profile.parallelRefresh === 'reject') {
    count('refresh_token', 'invalid_request');
    log('refresh refused: already in progress');
    sendJson(res, 400, { error: 'invalid_request', error_description: 'Refresh operation is already in progress' });
    return true;
  }
  let release;
  const mine = new Promise((resolve) => { release = resolve; });
  const chain = (previous ?? Promise.resolve()).then(() => mine);
  refreshesInFlight.set(refreshToken, chain);
  res.on('close', () => {
    release();
    if (refreshesInFlight.get(refreshToken) === chain) refreshesInFlight.delete(refreshToken);
  });
  if (previous) await previous;
  if (refreshDelayMs > 0) await new Promise((resolve) => { setTimeout(resolve, refreshDelayMs); });
  return false;
}

function isLoopback(address) {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  res.on('finish', () => log(`${req.method} ${url.pathname} -> ${res.statusCode}`));
  try {
    if (!provider) return send(res, 503, 'text/plain', 'starting\n');
    if (url.pathname.startsWith('/_test/')) {
      if (!isLoopback(req.socket.remoteAddress)) return sendJson(res, 403, { error: 'loopback only' });
      return await testRoute(req, res, url);
    }
    if (url.pathname === '/exchange/id-porten' && req.method === 'GET') return await exchangeRoute(req, res);
    if (url.pathname.startsWith('/interaction/')) return await interactionRoute(req, res, url);
    if (req.method === 'POST' && CLIENT_AUTH_PATHS.has(url.pathname)) {
      const raw = await readBody(req);
      // oidc-provider reads an already consumed body from req.body.
      req.body = raw;
      const refusal = strictClientAuth(req, new URLSearchParams(raw.toString('utf8')));
      if (refusal) {
        if (url.pathname === '/token') {
          count(new URLSearchParams(raw.toString('utf8')).get('grant_type') || 'unknown', 'invalid_client');
        }
        log(`client authentication refused: ${refusal}`);
        return send(res, 401, 'application/json', `${JSON.stringify({ error: 'invalid_client', error_description: refusal })}\n`);
      }
      const params = new URLSearchParams(raw.toString('utf8'));
      if (url.pathname === '/token' && params.get('grant_type') === 'refresh_token' && params.get('refresh_token')) {
        const refused = await enterRefresh(params.get('refresh_token'), res);
        if (refused) return undefined;
      }
    }
    return providerCallback(req, res);
  } catch (err) {
    log(`error on ${req.method} ${url.pathname}: ${err.stack || err}`);
    if (!res.headersSent) return send(res, err.statusCode || 500, 'text/plain', `${err.name}: ${err.message}\n`);
    return res.end();
  }
});

function buildProvider() {
  const configuration = {
    clients,
    adapter: TestAdapter,
    jwks: { keys: [signingJwk] },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    scopes: [...new Set([...profile.scopes, ...extraScopes])],
    claims: {
      openid: ['sub'],
      profile: ['name', 'pid', 'locale'],
    },
    acrValues: ['idporten-loa-substantial', 'idporten-loa-high'],
    async findAccount(_ctx, id) {
      return {
        accountId: id,
        async claims() {
          return { sub: id, pid: id, name: id, locale: 'nb' };
        },
      };
    },
    interactions: {
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      introspection: { enabled: true },
      // Custom scopes are listed in `scopes` above, so they are granted like OIDC scopes and land
      // in the (opaque) access token without resource indicators.
      resourceIndicators: { enabled: false },
    },
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    pkce: { methods: ['S256'], required: () => profile.pkceRequired },
    // Refresh tokens for every code grant of a client allowed refresh_token, with or without
    // offline_access, rotated on every use and not bound to the browser session.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    expiresWithSession: async () => false,
    ttl: {
      AccessToken: accessTtl,
      AuthorizationCode: codeTtl,
      RefreshToken: refreshTtl,
      Grant: refreshTtl,
      IdToken: 3600,
      Interaction: 3600,
      Session: 14 * 24 * 3600,
    },
    discovery: {
      ui_locales_supported: ['nb', 'nn', 'en', 'se'],
    },
    renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page('en', 'Error', `<pre id="error">${escapeHtml(JSON.stringify(out))}</pre>`);
    },
  };

  const p = new Provider(issuer, configuration);

  // Count token-endpoint requests by grant_type and outcome.
  p.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/token' && ctx.method === 'POST') {
      const grantType = ctx.oidc?.body?.grant_type || ctx.oidc?.params?.grant_type || 'unknown';
      const outcome = ctx.status === 200 ? 'ok' : (ctx.body?.error || `http_${ctx.status}`);
      count(String(grantType), String(outcome));
    }
  });

  for (const event of ['server_error', 'grant.error', 'authorization.error', 'revocation.error', 'introspection.error']) {
    p.on(event, (_ctx, err) => log(`${event}: ${err?.name}: ${err?.message}${err?.error_detail ? ` (${err.error_detail})` : ''}`));
  }
  p.on('grant.revoked', (_ctx, grantId) => log(`grant revoked: ${grantId}`));
  return p;
}

let closing = false;
function shutdown(why) {
  if (closing) return;
  closing = true;
  log(`shutting down (${why})`);
  server.close();
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 200).unref();
}

process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
if (process.env.STDIN_WATCH !== '0') {
  process.stdin.on('end', () => shutdown('stdin closed'));
  process.stdin.on('close', () => shutdown('stdin closed'));
  process.stdin.on('error', () => shutdown('stdin error'));
  process.stdin.resume();
}

server.listen(port, '127.0.0.1', () => {
  const actualPort = server.address().port;
  issuer = `http://127.0.0.1:${actualPort}`;
  try {
    provider = buildProvider();
    providerCallback = provider.callback();
  } catch (err) {
    log(`cannot configure oidc-provider: ${err.stack || err}`);
    process.exit(2);
  }
  log(`profile ${profileName}, ${clients.length} client(s), access TTL ${accessTtl}s, refresh reuse: ${refreshReuse}`);
  process.stdout.write(`${JSON.stringify({ ready: true, issuer, port: actualPort })}\n`);
});
