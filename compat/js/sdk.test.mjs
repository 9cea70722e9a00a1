// The AWS SDK for JavaScript v3 Cognito client against latchkey: the usual
// passwordless backend recipe (SignUp with a throwaway password, CUSTOM_AUTH,
// RespondToAuthChallenge with ANSWER) and error handling by exception name.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CognitoIdentityProviderClient,
  SignUpCommand,
  InitiateAuthCommand,
  RespondToAuthChallengeCommand,
  GetUserCommand,
  GetTokensFromRefreshTokenCommand,
  GlobalSignOutCommand,
  RevokeTokenCommand,
  NotAuthorizedException,
  UsernameExistsException,
  InvalidParameterException,
  CodeMismatchException,
  ResourceNotFoundException,
} from '@aws-sdk/client-cognito-identity-provider';
import { startLatchkey, uniquePhone, uniqueEmail, jwtPayload } from './latchkey.mjs';

let lk;
let client;

before(async () => {
  lk = await startLatchkey();
  client = new CognitoIdentityProviderClient({
    region: 'us-east-1',
    endpoint: lk.url,
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    maxAttempts: 1,
  });
});

after(async () => {
  client?.destroy();
  await lk?.stop();
});

/** Awaits `promise`, expects it to reject with the named client error, returns the error. */
async function expectError(promise, ErrorClass, { message } = {}) {
  let err;
  try {
    const out = await promise;
    assert.fail(`expected ${ErrorClass.name}, got success: ${JSON.stringify(out)}`);
  } catch (e) {
    err = e;
  }
  if (err instanceof assert.AssertionError) throw err;
  assert.equal(err.name, ErrorClass.name, `error name (message: ${err.message})`);
  assert.ok(err instanceof ErrorClass, `instanceof ${ErrorClass.name}`);
  assert.equal(err.$fault, 'client');
  assert.equal(err.$metadata?.httpStatusCode, 400, `HTTP status of ${err.name}`);
  assert.ok(err.$metadata?.requestId, 'x-amzn-RequestId surfaces as $metadata.requestId');
  if (message !== undefined) assert.match(err.message, message);
  return err;
}

/** SignUp the way backend tutorials do: a random password nobody will use. */
async function signUp(username) {
  return client.send(
    new SignUpCommand({
      ClientId: lk.clientId,
      Username: username,
      Password: `Aa1!${crypto.randomUUID()}`,
    }),
  );
}

function customAuth(username) {
  return client.send(
    new InitiateAuthCommand({ ClientId: lk.clientId, AuthFlow: 'CUSTOM_AUTH', AuthParameters: { USERNAME: username } }),
  );
}

function answer(username, session, code) {
  return client.send(
    new RespondToAuthChallengeCommand({
      ClientId: lk.clientId,
      ChallengeName: 'CUSTOM_CHALLENGE',
      Session: session,
      ChallengeResponses: { USERNAME: username, ANSWER: code },
    }),
  );
}

function wrongCode(code) {
  return code === '000000' ? '111111' : '000000';
}

test('SignUp with a dummy password creates a confirmed user', async () => {
  const phone = uniquePhone();
  const out = await signUp(phone);
  assert.equal(out.$metadata.httpStatusCode, 200);
  assert.equal(out.UserConfirmed, true);
  assert.match(out.UserSub, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
});

test('CUSTOM_AUTH: wrong ANSWER gives a new Session, the right one gives tokens', async () => {
  const phone = uniquePhone();
  await signUp(phone);

  const mark = await lk.mark(phone);
  const init = await customAuth(phone);
  assert.equal(init.ChallengeName, 'CUSTOM_CHALLENGE');
  assert.ok(init.Session, 'Session');
  assert.equal(init.AuthenticationResult, undefined);
  assert.equal(init.ChallengeParameters?.USERNAME, phone);
  assert.equal(init.ChallengeParameters?.CODE_DELIVERY_DELIVERY_MEDIUM, 'SMS');
  assert.match(init.ChallengeParameters?.CODE_DELIVERY_DESTINATION ?? '', /^\+\*+\d{4}$/);
  const code = await lk.codeAfter(phone, mark);
  assert.match(code, /^\d{6}$/);

  const retry = await answer(phone, init.Session, wrongCode(code));
  assert.equal(retry.ChallengeName, 'CUSTOM_CHALLENGE');
  assert.ok(retry.Session, 'a new Session');
  assert.notEqual(retry.Session, init.Session, 'the Session changes after a wrong answer');
  assert.equal(retry.AuthenticationResult, undefined);
  assert.equal(await lk.mark(phone), mark + 1, 'a wrong answer does not send another code');

  const done = await answer(phone, retry.Session, code);
  const r = done.AuthenticationResult;
  assert.ok(r, 'AuthenticationResult');
  assert.equal(done.ChallengeName, undefined);
  assert.equal(r.TokenType, 'Bearer');
  assert.equal(r.ExpiresIn, 3600);
  assert.ok(r.AccessToken && r.IdToken && r.RefreshToken);
  assert.equal(jwtPayload(r.IdToken)['cognito:username'], phone);
  assert.equal(jwtPayload(r.AccessToken).token_use, 'access');

  const me = await client.send(new GetUserCommand({ AccessToken: r.AccessToken }));
  assert.equal(me.Username, phone);
  assert.deepEqual(
    me.UserAttributes.find((a) => a.Name === 'phone_number_verified'),
    { Name: 'phone_number_verified', Value: 'true' },
  );
});

test('CUSTOM_AUTH with an email username delivers by EMAIL', async () => {
  const email = uniqueEmail();
  await signUp(email);
  const mark = await lk.mark(email);
  const init = await customAuth(email);
  assert.equal(init.ChallengeName, 'CUSTOM_CHALLENGE');
  assert.equal(init.ChallengeParameters?.CODE_DELIVERY_DELIVERY_MEDIUM, 'EMAIL');
  assert.match(init.ChallengeParameters?.CODE_DELIVERY_DESTINATION ?? '', /^\w\*\*\*@\w\*\*\*/);
  const code = await lk.codeAfter(email, mark);
  const done = await answer(email, init.Session, code);
  assert.ok(done.AuthenticationResult?.AccessToken);
});

test('a Session reused after a wrong answer is NotAuthorizedException', async () => {
  const phone = uniquePhone();
  await signUp(phone);
  const mark = await lk.mark(phone);
  const init = await customAuth(phone);
  const code = await lk.codeAfter(phone, mark);
  await answer(phone, init.Session, wrongCode(code));
  await expectError(answer(phone, init.Session, code), NotAuthorizedException, {
    message: /^Invalid session for the user\.$/,
  });
});

test('the third wrong answer is NotAuthorizedException and the code is dead', async () => {
  const phone = uniquePhone();
  await signUp(phone);
  const mark = await lk.mark(phone);
  let { Session } = await customAuth(phone);
  const code = await lk.codeAfter(phone, mark);
  ({ Session } = await answer(phone, Session, wrongCode(code)));
  ({ Session } = await answer(phone, Session, wrongCode(code)));
  await expectError(answer(phone, Session, wrongCode(code)), NotAuthorizedException, {
    message: /^Incorrect username or password\.$/,
  });
  await expectError(answer(phone, Session, code), NotAuthorizedException);
});

test('duplicate SignUp is UsernameExistsException', async () => {
  const phone = uniquePhone();
  await signUp(phone);
  await expectError(signUp(phone), UsernameExistsException, {
    message: /^An account with the given phone_number already exists\.$/,
  });
  const email = uniqueEmail();
  await signUp(email);
  await expectError(signUp(email.toUpperCase()), UsernameExistsException, {
    message: /^An account with the given email already exists\.$/,
  });
});

test('a bad phone number is InvalidParameterException', async () => {
  await expectError(signUp('4155552671'), InvalidParameterException);
  await expectError(signUp('+1415'), InvalidParameterException);
  await expectError(signUp('not a username'), InvalidParameterException);
});

test('an unknown user gets a challenge, never UserNotFoundException', async () => {
  const phone = uniquePhone(); // never signed up
  const init = await customAuth(phone);
  assert.equal(init.ChallengeName, 'CUSTOM_CHALLENGE');
  assert.ok(init.Session);
  assert.deepEqual(Object.keys(init.ChallengeParameters ?? {}).sort(), [
    'CODE_DELIVERY_DELIVERY_MEDIUM',
    'CODE_DELIVERY_DESTINATION',
    'USERNAME',
  ]);
  assert.equal(init.ChallengeParameters.CODE_DELIVERY_DELIVERY_MEDIUM, 'SMS');
  assert.match(init.ChallengeParameters.CODE_DELIVERY_DESTINATION, /^\+\*+\d{4}$/);
  assert.equal(await lk.mark(phone), 0, 'nothing is sent to an unknown user');

  // A guess is judged like any wrong answer: a new challenge, not "no such user".
  const retry = await answer(phone, init.Session, '123456');
  assert.equal(retry.ChallengeName, 'CUSTOM_CHALLENGE');
  assert.ok(retry.Session);

  const userAuth = await client.send(
    new InitiateAuthCommand({
      ClientId: lk.clientId,
      AuthFlow: 'USER_AUTH',
      AuthParameters: { USERNAME: uniqueEmail(), PREFERRED_CHALLENGE: 'EMAIL_OTP' },
    }),
  );
  assert.equal(userAuth.ChallengeName, 'EMAIL_OTP');
  assert.equal(userAuth.ChallengeParameters?.CODE_DELIVERY_DELIVERY_MEDIUM, 'EMAIL');
});

test('a wrong USER_AUTH code is CodeMismatchException and the Session may answer again', async () => {
  const email = uniqueEmail();
  await signUp(email);
  const mark = await lk.mark(email);
  const init = await client.send(
    new InitiateAuthCommand({
      ClientId: lk.clientId,
      AuthFlow: 'USER_AUTH',
      AuthParameters: { USERNAME: email, PREFERRED_CHALLENGE: 'EMAIL_OTP' },
    }),
  );
  assert.equal(init.ChallengeName, 'EMAIL_OTP');
  const code = await lk.codeAfter(email, mark);
  const respond = (c) =>
    client.send(
      new RespondToAuthChallengeCommand({
        ClientId: lk.clientId,
        ChallengeName: 'EMAIL_OTP',
        Session: init.Session,
        ChallengeResponses: { USERNAME: email, EMAIL_OTP_CODE: c },
      }),
    );
  await expectError(respond(wrongCode(code)), CodeMismatchException, {
    message: /^Invalid code or auth state for the user\.$/,
  });
  const done = await respond(code);
  assert.ok(done.AuthenticationResult?.IdToken);
});

test('an unknown ClientId is ResourceNotFoundException', async () => {
  await expectError(
    client.send(new SignUpCommand({ ClientId: 'nosuchclient0000000000000', Username: uniquePhone() })),
    ResourceNotFoundException,
  );
});

test('refresh, GlobalSignOut and RevokeToken', async () => {
  const phone = uniquePhone();
  await signUp(phone);
  const mark = await lk.mark(phone);
  const init = await customAuth(phone);
  const { AuthenticationResult: r } = await answer(phone, init.Session, await lk.codeAfter(phone, mark));

  const refreshed = await client.send(
    new GetTokensFromRefreshTokenCommand({ ClientId: lk.clientId, RefreshToken: r.RefreshToken }),
  );
  assert.ok(refreshed.AuthenticationResult?.AccessToken);
  assert.ok(refreshed.AuthenticationResult?.IdToken);
  assert.equal(refreshed.AuthenticationResult.RefreshToken, undefined, 'refresh tokens are not rotated');

  const viaInitiate = await client.send(
    new InitiateAuthCommand({
      ClientId: lk.clientId,
      AuthFlow: 'REFRESH_TOKEN_AUTH',
      AuthParameters: { REFRESH_TOKEN: r.RefreshToken },
    }),
  );
  assert.ok(viaInitiate.AuthenticationResult?.AccessToken);

  await client.send(new GlobalSignOutCommand({ AccessToken: r.AccessToken }));
  await expectError(client.send(new GetUserCommand({ AccessToken: r.AccessToken })), NotAuthorizedException, {
    message: /^Access Token has been revoked$/,
  });
  await expectError(
    client.send(new GetTokensFromRefreshTokenCommand({ ClientId: lk.clientId, RefreshToken: r.RefreshToken })),
    NotAuthorizedException,
  );

  // RevokeToken answers {} even for a token it does not know.
  const revoked = await client.send(new RevokeTokenCommand({ ClientId: lk.clientId, Token: 'not-a-real-token' }));
  assert.equal(revoked.$metadata.httpStatusCode, 200);
});

test('a garbage access token is NotAuthorizedException', async () => {
  await expectError(client.send(new GetUserCommand({ AccessToken: 'garbage' })), NotAuthorizedException, {
    message: /^Invalid Access Token$/,
  });
});

test("errors have Cognito's wire form", async () => {
  const res = await lk.call('SignUp', { ClientId: lk.clientId, Username: 'not a username' });
  assert.equal(res.status, 400);
  assert.equal(res.headers['content-type'], 'application/x-amz-json-1.1');
  assert.equal(res.headers['x-amzn-errortype'], 'InvalidParameterException:');
  assert.equal(res.body.__type, 'InvalidParameterException');
  assert.equal(typeof res.body.message, 'string');
  assert.equal(res.headers['x-amzn-errormessage'], res.body.message);
  assert.ok(res.headers['x-amzn-requestid']);

  const unknown = await lk.call('NoSuchOperation', {});
  assert.equal(unknown.status, 400);
  assert.equal(unknown.body.__type, 'UnknownOperationException');
});
