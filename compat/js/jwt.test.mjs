// aws-jwt-verify against latchkey's tokens and JWKS, the way an API backend
// checks the tokens an app sends it.
//
// CognitoJwtVerifier only knows AWS's issuer URLs and region-shaped pool ids
// (us-east-1_…), so a self-hosted issuer is verified with the generic
// JwtVerifier plus aws-jwt-verify's own Cognito claim checks
// (validateCognitoJwtFields: token_use, and aud or client_id).
//
// Pools sign with RS256 unless created with --signing-alg; aws-jwt-verify
// (5.x) verifies all three algorithms latchkey offers (RS256, ES256 and
// EdDSA with Ed25519), so each is checked here with the same verifier.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { JwtVerifier, CognitoJwtVerifier } from 'aws-jwt-verify';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';
import { validateCognitoJwtFields } from 'aws-jwt-verify/cognito-verifier';
import {
  JwtInvalidIssuerError,
  JwtInvalidSignatureError,
  JwtExpiredError,
  JwtInvalidAudienceError,
  JwtInvalidScopeError,
  JwtInvalidSignatureAlgorithmError,
  CognitoJwtInvalidTokenUseError,
  CognitoJwtInvalidClientIdError,
  ParameterValidationError,
  KidNotFoundInJwksError,
  WaitPeriodNotYetEndedJwkError,
} from 'aws-jwt-verify/error';
import { startLatchkey, uniquePhone, uniqueEmail, jwtPayload, jwtHeader, sleep } from './latchkey.mjs';

/** Each signing algorithm a pool may have, with the JWK kty and crv it publishes. */
const algorithms = [
  { alg: 'RS256', kty: 'RSA', members: ['alg', 'e', 'kid', 'kty', 'n', 'use'] },
  { alg: 'ES256', kty: 'EC', crv: 'P-256', members: ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'] },
  { alg: 'EdDSA', kty: 'OKP', crv: 'Ed25519', members: ['alg', 'crv', 'kid', 'kty', 'use', 'x'] },
];

let lk;

before(async () => {
  lk = await startLatchkey();
});

after(async () => {
  await lk?.stop();
});

// aws-jwt-verify's Node fetcher speaks only https; the test server is plain
// http on 127.0.0.1, so the JWKS is fetched with Node's fetch instead. The
// verifier still downloads it from jwksUri and parses and checks it itself.
const httpFetcher = {
  async fetch(uri) {
    const res = await fetch(uri);
    if (res.status !== 200) throw new Error(`GET ${uri}: HTTP ${res.status}`);
    return res.arrayBuffer();
  },
};

function verifiers(poolId, clientId) {
  const issuer = lk.issuer(poolId);
  const jwksUri = `${issuer}/.well-known/jwks.json`;
  const jwksCache = new SimpleJwksCache({ fetcher: httpFetcher });
  const id = JwtVerifier.create(
    {
      issuer,
      jwksUri,
      audience: clientId,
      customJwtCheck: ({ payload }) => validateCognitoJwtFields(payload, { tokenUse: 'id', clientId }),
    },
    { jwksCache },
  );
  const access = JwtVerifier.create(
    {
      issuer,
      jwksUri,
      audience: null, // access tokens have client_id, not aud
      scope: 'aws.cognito.signin.user.admin',
      customJwtCheck: ({ payload }) => validateCognitoJwtFields(payload, { tokenUse: 'access', clientId }),
    },
    { jwksCache },
  );
  return { id, access };
}

/** What a verifier throws for a token from another pool. */
class ForeignToken {
  static [Symbol.hasInstance](err) {
    return [JwtInvalidIssuerError, KidNotFoundInJwksError, WaitPeriodNotYetEndedJwkError, JwtInvalidSignatureError].some(
      (C) => err instanceof C,
    );
  }
}

async function rejects(promise, ErrorClass) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof ErrorClass, `expected ${ErrorClass.name}, got ${err.name}: ${err.message}`);
    return true;
  });
}

test('JWKS and OpenID discovery documents', async () => {
  const issuer = lk.issuer();
  const disco = await fetch(`${issuer}/.well-known/openid-configuration`);
  assert.equal(disco.status, 200);
  const doc = await disco.json();
  assert.equal(doc.issuer, issuer);
  assert.equal(doc.jwks_uri, `${issuer}/.well-known/jwks.json`);

  const res = await fetch(doc.jwks_uri);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /json/);
  const { keys } = await res.json();
  assert.ok(keys.length >= 1);
  for (const k of keys) {
    assert.deepEqual(Object.keys(k).sort(), ['alg', 'e', 'kid', 'kty', 'n', 'use']);
    assert.equal(k.alg, 'RS256');
    assert.equal(k.kty, 'RSA');
    assert.equal(k.use, 'sig');
    assert.equal(k.e, 'AQAB');
  }
  const tokens = await lk.signIn(uniquePhone());
  for (const t of [tokens.IdToken, tokens.AccessToken]) {
    const h = jwtHeader(t);
    assert.equal(h.alg, 'RS256');
    assert.ok(keys.some((k) => k.kid === h.kid), `kid ${h.kid} is in the JWKS`);
  }
});

test('ID and access tokens verify against the JWKS', async () => {
  const phone = uniquePhone();
  const tokens = await lk.signIn(phone);
  const v = verifiers(lk.poolId, lk.clientId);

  const id = await v.id.verify(tokens.IdToken);
  assert.equal(id.token_use, 'id');
  assert.equal(id.aud, lk.clientId);
  assert.equal(id.iss, lk.issuer());
  assert.equal(id['cognito:username'], phone);
  assert.equal(id.phone_number, phone);
  assert.equal(id.phone_number_verified, true);
  assert.match(id.sub, /^[0-9a-f-]{36}$/);

  const access = await v.access.verify(tokens.AccessToken);
  assert.equal(access.token_use, 'access');
  assert.equal(access.client_id, lk.clientId);
  assert.equal(access.aud, undefined);
  assert.equal(access.username, phone);
  assert.equal(access.scope, 'aws.cognito.signin.user.admin');
  assert.equal(access.sub, id.sub);
  assert.equal(access.event_id, id.event_id);
  for (const p of [id, access]) {
    assert.equal(typeof p.iat, 'number');
    assert.equal(typeof p.auth_time, 'number');
    assert.ok(p.jti && p.origin_jti, 'jti and origin_jti');
    assert.equal(p.exp - p.iat, 3600);
  }

  // The wrong kind of token fails each verifier's claim checks (aud, scope).
  await rejects(v.id.verify(tokens.AccessToken), JwtInvalidAudienceError);
  await rejects(v.access.verify(tokens.IdToken), JwtInvalidScopeError);
  // and token_use alone tells them apart too.
  assert.throws(() => validateCognitoJwtFields(jwtPayload(tokens.IdToken), { tokenUse: 'access', clientId: null }), CognitoJwtInvalidTokenUseError);
  assert.throws(() => validateCognitoJwtFields(jwtPayload(tokens.AccessToken), { tokenUse: 'id', clientId: null }), CognitoJwtInvalidTokenUseError);
});

test('email tokens carry email and email_verified', async () => {
  const email = uniqueEmail();
  const tokens = await lk.signIn(email);
  const id = await verifiers(lk.poolId, lk.clientId).id.verify(tokens.IdToken);
  assert.equal(id.email, email);
  assert.equal(id.email_verified, true);
  assert.equal(id['cognito:username'], email);
});

test('a tampered token fails the signature check', async () => {
  const tokens = await lk.signIn(uniquePhone());
  const [h, , s] = tokens.IdToken.split('.');
  const payload = { ...jwtPayload(tokens.IdToken), 'cognito:username': '+14155550000' };
  const forged = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
  await rejects(verifiers(lk.poolId, lk.clientId).id.verify(forged), JwtInvalidSignatureError);
});

test("another pool's token is rejected by this pool's verifier", async () => {
  const other = await lk.createPool({ name: 'jwt-other' });
  assert.match(other.poolId, /^[\w-]+_[0-9a-zA-Z]+$/);
  assert.notEqual(other.poolId, lk.poolId);
  const tokens = await lk.signIn(uniquePhone(), { clientId: other.clientId });

  // JwtVerifier looks the kid up in this pool's JWKS before it checks the
  // claims, so a token signed with another pool's key fails there (a server
  // that shared one key between pools would fail on iss instead).
  const mine = verifiers(lk.poolId, lk.clientId);
  await rejects(mine.id.verify(tokens.IdToken), ForeignToken);
  await rejects(mine.access.verify(tokens.AccessToken), ForeignToken);
  // With the other pool's keys, the signature passes and iss is what fails.
  const issuerOnly = JwtVerifier.create(
    { issuer: lk.issuer(), audience: null, jwksUri: `${lk.issuer(other.poolId)}/.well-known/jwks.json` },
    { jwksCache: new SimpleJwksCache({ fetcher: httpFetcher }) },
  );
  await rejects(issuerOnly.verify(tokens.IdToken), JwtInvalidIssuerError);

  // Same pool, other app client: signature fine, client check fails.
  const wrongClient = verifiers(other.poolId, lk.clientId);
  await rejects(wrongClient.id.verify(tokens.IdToken), JwtInvalidAudienceError);
  await rejects(wrongClient.access.verify(tokens.AccessToken), CognitoJwtInvalidClientIdError);

  // Its own pool's verifier accepts it, and the pools have separate keys.
  const theirs = verifiers(other.poolId, other.clientId);
  assert.equal((await theirs.id.verify(tokens.IdToken)).iss, lk.issuer(other.poolId));
  await theirs.access.verify(tokens.AccessToken);
  const mineKeys = (await (await fetch(`${lk.issuer()}/.well-known/jwks.json`)).json()).keys.map((k) => k.kid);
  assert.ok(!mineKeys.includes(jwtHeader(tokens.IdToken).kid), 'the other pool signs with its own key');

  // A token re-labelled with this pool's issuer fails the signature check.
  const [h, , s] = tokens.IdToken.split('.');
  const relabelled = { ...jwtPayload(tokens.IdToken), iss: lk.issuer(), aud: lk.clientId };
  await rejects(
    mine.id.verify(`${h}.${Buffer.from(JSON.stringify(relabelled)).toString('base64url')}.${s}`),
    ForeignToken,
  );
});

test('an expired token is rejected', async () => {
  const pool = await lk.createPool({ name: 'jwt-short', accessTokenTtl: '5s', idTokenTtl: '5s' });
  const tokens = await lk.signIn(uniquePhone(), { clientId: pool.clientId });
  const v = verifiers(pool.poolId, pool.clientId);
  const id = await v.id.verify(tokens.IdToken);
  await v.access.verify(tokens.AccessToken);
  assert.equal(id.exp - id.iat, 5);
  assert.equal(tokens.ExpiresIn, 5, 'ExpiresIn is the access-token lifetime');

  await sleep(id.exp * 1000 - Date.now() + 1100);
  await rejects(v.id.verify(tokens.IdToken), JwtExpiredError);
  await rejects(v.access.verify(tokens.AccessToken), JwtExpiredError);
});

for (const { alg, kty, crv, members } of algorithms) {
  test(`${alg} pool: its tokens verify against its JWKS`, async () => {
    const pool = await lk.createPool({ name: `jwt-${alg}`, signingAlg: alg });
    const issuer = lk.issuer(pool.poolId);

    const doc = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
    assert.deepEqual(doc.id_token_signing_alg_values_supported, [alg]);
    const { keys } = await (await fetch(doc.jwks_uri)).json();
    assert.equal(keys.length, 1);
    assert.deepEqual(Object.keys(keys[0]).sort(), members);
    assert.equal(keys[0].alg, alg);
    assert.equal(keys[0].kty, kty);
    assert.equal(keys[0].crv, crv);
    assert.equal(keys[0].use, 'sig');

    const phone = uniquePhone();
    const tokens = await lk.signIn(phone, { clientId: pool.clientId });
    for (const t of [tokens.IdToken, tokens.AccessToken]) {
      assert.deepEqual(jwtHeader(t), { alg, kid: keys[0].kid, typ: 'JWT' });
    }
    const v = verifiers(pool.poolId, pool.clientId);
    const id = await v.id.verify(tokens.IdToken);
    assert.equal(id.iss, issuer);
    assert.equal(id['cognito:username'], phone);
    const access = await v.access.verify(tokens.AccessToken);
    assert.equal(access.client_id, pool.clientId);
    assert.equal(access.sub, id.sub);

    // A changed payload fails the signature; a header claiming another
    // algorithm for the key fails before it (the JWK's alg is pinned).
    const [h, p, s] = tokens.IdToken.split('.');
    const forged = Buffer.from(JSON.stringify({ ...jwtPayload(tokens.IdToken), 'cognito:username': '+14155550000' })).toString('base64url');
    await rejects(v.id.verify(`${h}.${forged}.${s}`), JwtInvalidSignatureError);
    const other = algorithms.find((a) => a.alg !== alg).alg;
    const relabelled = Buffer.from(JSON.stringify({ ...jwtHeader(tokens.IdToken), alg: other })).toString('base64url');
    await rejects(v.id.verify(`${relabelled}.${p}.${s}`), JwtInvalidSignatureAlgorithmError);

    // The server's own API accepts the access token.
    const me = await lk.call('GetUser', { AccessToken: tokens.AccessToken });
    assert.equal(me.status, 200, JSON.stringify(me.body));
    assert.equal(me.body.Username, phone);
  });
}

test('pools update --signing-alg: the running server publishes the new key and keeps the old one', async () => {
  const pool = await lk.createPool({ name: 'jwt-switch' });
  const issuer = lk.issuer(pool.poolId);
  const before = await lk.signIn(uniquePhone(), { clientId: pool.clientId });
  assert.equal(jwtHeader(before.IdToken).alg, 'RS256');

  const out = await lk.updatePool(pool.poolId, ['--signing-alg', 'ES256']);
  assert.match(out, /signing-alg: ES256 \(was RS256\)/);
  assert.match(out, /\(ES256\) added/);

  // Each node rereads its pools' keys every few seconds: no restart.
  let keys = [];
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; await sleep(250)) {
    ({ keys } = await (await fetch(`${issuer}/.well-known/jwks.json`)).json());
    if (keys.length === 2) break;
  }
  assert.deepEqual(keys.map((k) => `${k.alg}/${k.kty}`), ['ES256/EC', 'RS256/RSA']);
  const doc = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  assert.deepEqual(doc.id_token_signing_alg_values_supported.slice().sort(), ['ES256', 'RS256']);

  // The old key goes on verifying the tokens it signed, for the server and
  // for a verifier that fetches the new key set; the new key is published
  // minutes before it signs, so tokens signed meanwhile are still RS256.
  const v = verifiers(pool.poolId, pool.clientId);
  await v.id.verify(before.IdToken);
  await v.access.verify(before.AccessToken);
  assert.equal((await lk.call('GetUser', { AccessToken: before.AccessToken })).status, 200);
  const during = await lk.signIn(uniquePhone(), { clientId: pool.clientId });
  assert.equal(jwtHeader(during.AccessToken).alg, 'RS256');
  await v.access.verify(during.AccessToken);
});

test('CognitoJwtVerifier only accepts AWS pool ids (why JwtVerifier is used here)', () => {
  assert.throws(
    () => CognitoJwtVerifier.create({ userPoolId: lk.poolId, clientId: lk.clientId, tokenUse: 'id' }),
    ParameterValidationError,
  );
});
