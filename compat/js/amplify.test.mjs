// AWS Amplify JS v6 (aws-amplify/auth) in Node against latchkey, configured
// with userPoolEndpoint exactly as an app would be. Every nextStep is checked
// against what Amplify reports for Amazon Cognito.
//
// Amplify keeps its tokens in an in-memory store when there is no
// window.localStorage (Node), so no storage polyfill is needed.

import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { Amplify } from 'aws-amplify';
import {
  signUp,
  confirmSignUp,
  autoSignIn,
  signIn,
  confirmSignIn,
  fetchAuthSession,
  getCurrentUser,
  fetchUserAttributes,
  updateUserAttributes,
  confirmUserAttribute,
  sendUserAttributeVerificationCode,
  resendSignUpCode,
  signOut,
  deleteUser,
} from 'aws-amplify/auth';
import {
  CognitoIdentityProviderClient,
  GetUserCommand,
  GetTokensFromRefreshTokenCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { startLatchkey, uniquePhone, uniqueEmail, traceFetch, sleep, unrefLongTimers } from './latchkey.mjs';

// A hung Amplify promise must fail its test, not stall the suite.
const T = { timeout: 30_000 };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MASKED_PHONE = /^\+\*+\d{4}$/;
const MASKED_EMAIL = /^\w\*\*\*@\w\*\*\*/;

let lk;
let sdk;
let trace;
let defaultPool;
let restoreTimers;
const pools = {};

before(async () => {
  lk = await startLatchkey();
  defaultPool = { poolId: lk.poolId, clientId: lk.clientId };
  sdk = new CognitoIdentityProviderClient({
    region: 'us-east-1',
    endpoint: lk.url,
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    maxAttempts: 1,
  });
  trace = traceFetch();
  restoreTimers = unrefLongTimers();
  configure(defaultPool);
});

after(async () => {
  trace?.restore();
  restoreTimers?.();
  sdk?.destroy();
  await lk?.stop();
});

afterEach(async () => {
  // Every test leaves Amplify signed out, on the default pool.
  await signOut().catch(() => {});
  configure(defaultPool);
});

/** Amplify.configure for one pool, as the server prints it. */
function configure({ poolId, clientId }) {
  Amplify.configure({
    Auth: {
      Cognito: {
        userPoolId: poolId,
        userPoolClientId: clientId,
        userPoolEndpoint: lk.url,
        loginWith: { phone: true, email: true },
      },
    },
  });
}

/** A pool made once per file with `latchkey pools create`. */
async function pool(key, options) {
  pools[key] ??= lk.createPool({ name: `amplify-${key}`, ...options });
  return pools[key];
}

/** The Cognito calls Amplify made since `from` (an index into trace.log). */
function calls(from) {
  return trace.log.slice(from);
}

/** Creates a confirmed user in the current pool with Amplify's signUp. */
async function newUser(username) {
  const out = await signUp({ username });
  assert.equal(out.nextStep.signUpStep, 'DONE');
  return out.userId;
}

/** Signs in by code (USER_AUTH) with Amplify; leaves Amplify signed in. */
async function signInByCode(username) {
  const preferredChallenge = username.includes('@') ? 'EMAIL_OTP' : 'SMS_OTP';
  const mark = await lk.mark(username);
  const out = await signIn({ username, options: { authFlowType: 'USER_AUTH', preferredChallenge } });
  assert.equal(
    out.nextStep.signInStep,
    preferredChallenge === 'EMAIL_OTP' ? 'CONFIRM_SIGN_IN_WITH_EMAIL_CODE' : 'CONFIRM_SIGN_IN_WITH_SMS_CODE',
  );
  const done = await confirmSignIn({ challengeResponse: await lk.codeAfter(username, mark) });
  assert.deepEqual(done, { isSignedIn: true, nextStep: { signInStep: 'DONE' } });
}

async function rejectsWithName(promise, name) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.name, name, `error name (message: ${err.message})`);
    return true;
  });
}

let lastAutoSignIn = 0;
/**
 * autoSignIn(), spaced out: Amplify debounces it for 300 ms and silently
 * drops (never settles) a call made within 300 ms of the previous one,
 * which only a test suite would do.
 */
async function callAutoSignIn() {
  const wait = lastAutoSignIn + 350 - Date.now();
  if (wait > 0) await sleep(wait);
  lastAutoSignIn = Date.now();
  return autoSignIn();
}

function wrongCode(code) {
  return code === '000000' ? '111111' : '000000';
}

// --- sign-up --------------------------------------------------------------

for (const kind of ['phone', 'email']) {
  for (const withPassword of [false, true]) {
    test(`signUp with ${kind === 'email' ? 'an' : 'a'} ${kind} username ${withPassword ? 'and' : 'without'} a password`, T, async () => {
      const username = kind === 'phone' ? uniquePhone() : uniqueEmail();
      const from = trace.log.length;
      const out = await signUp({
        username,
        ...(withPassword ? { password: 'Ignored-Passw0rd!' } : {}),
        options: { userAttributes: { name: 'Grace' } },
      });
      assert.equal(out.isSignUpComplete, true);
      assert.deepEqual(out.nextStep, { signUpStep: 'DONE' });
      assert.match(out.userId, UUID);

      const [call] = calls(from);
      assert.equal(call.target, 'SignUp');
      assert.equal(call.status, 200);
      assert.equal('Password' in call.request, withPassword, 'Amplify sends Password only when given');

      // The user exists and can sign in by code on the username's channel.
      await signInByCode(username);
      const attrs = await fetchUserAttributes();
      assert.equal(attrs.sub, out.userId);
      assert.equal(attrs.name, 'Grace');
      assert.equal(attrs[kind === 'phone' ? 'phone_number' : 'email'], username);
    });
  }
}

test('signUp with autoSignIn on an auto-confirming pool, then autoSignIn()', T, async () => {
  const email = uniqueEmail();
  const out = await signUp({
    username: email,
    options: { autoSignIn: { authFlowType: 'USER_AUTH', preferredChallenge: 'EMAIL_OTP' } },
  });
  assert.equal(out.isSignUpComplete, true);
  assert.deepEqual(out.nextStep, { signUpStep: 'COMPLETE_AUTO_SIGN_IN' });
  assert.match(out.userId, UUID);

  // No code has proved the address yet, so the sign-in asks for one.
  const mark = await lk.mark(email);
  const step = await callAutoSignIn();
  assert.equal(step.isSignedIn, false);
  assert.equal(step.nextStep.signInStep, 'CONFIRM_SIGN_IN_WITH_EMAIL_CODE');
  assert.equal(step.nextStep.codeDeliveryDetails.deliveryMedium, 'EMAIL');
  assert.match(step.nextStep.codeDeliveryDetails.destination, MASKED_EMAIL);
  const done = await confirmSignIn({ challengeResponse: await lk.codeAfter(email, mark) });
  assert.deepEqual(done, { isSignedIn: true, nextStep: { signInStep: 'DONE' } });
  assert.equal((await getCurrentUser()).userId, out.userId);
});

test('confirmSignUp, then autoSignIn gives tokens without a second code', T, async () => {
  configure(await pool('confirm', { autoConfirm: false }));
  const email = uniqueEmail();
  const mark = await lk.mark(email);
  const out = await signUp({ username: email, options: { autoSignIn: { authFlowType: 'USER_AUTH' } } });
  assert.equal(out.isSignUpComplete, false);
  assert.equal(out.nextStep.signUpStep, 'CONFIRM_SIGN_UP');
  assert.deepEqual(Object.keys(out.nextStep.codeDeliveryDetails).sort(), ['attributeName', 'deliveryMedium', 'destination']);
  assert.equal(out.nextStep.codeDeliveryDetails.deliveryMedium, 'EMAIL');
  assert.equal(out.nextStep.codeDeliveryDetails.attributeName, 'email');
  assert.match(out.nextStep.codeDeliveryDetails.destination, MASKED_EMAIL);
  assert.match(out.userId, UUID);
  const code = await lk.codeAfter(email, mark);

  await rejectsWithName(confirmSignUp({ username: email, confirmationCode: wrongCode(code) }), 'CodeMismatchException');

  const confirmed = await confirmSignUp({ username: email, confirmationCode: code });
  assert.deepEqual(confirmed, { isSignUpComplete: true, nextStep: { signUpStep: 'COMPLETE_AUTO_SIGN_IN' } });

  const sent = await lk.mark(email);
  const from = trace.log.length;
  const signedIn = await callAutoSignIn();
  assert.deepEqual(signedIn, { isSignedIn: true, nextStep: { signInStep: 'DONE' } });
  assert.equal(await lk.mark(email), sent, 'no second code was sent');
  const [init] = calls(from);
  assert.equal(init.target, 'InitiateAuth');
  assert.ok(init.request.Session, 'autoSignIn passes the ConfirmSignUp Session');

  const user = await getCurrentUser();
  assert.equal(user.userId, out.userId);
  assert.equal(user.username, email);
  const attrs = await fetchUserAttributes();
  assert.equal(attrs.email_verified, 'true', 'the confirmation code verified the email');
});

test('signIn of an unconfirmed user reports CONFIRM_SIGN_UP', T, async () => {
  configure(await pool('confirm', { autoConfirm: false }));
  const phone = uniquePhone();
  const out = await signUp({ username: phone });
  assert.equal(out.nextStep.signUpStep, 'CONFIRM_SIGN_UP');
  assert.equal(out.nextStep.codeDeliveryDetails.deliveryMedium, 'SMS');
  assert.equal(out.nextStep.codeDeliveryDetails.attributeName, 'phone_number');
  assert.match(out.nextStep.codeDeliveryDetails.destination, MASKED_PHONE);
  const step = await signIn({ username: phone, options: { authFlowType: 'USER_AUTH', preferredChallenge: 'SMS_OTP' } });
  assert.deepEqual(step, { isSignedIn: false, nextStep: { signInStep: 'CONFIRM_SIGN_UP' } });
});

test('resendSignUpCode replaces the confirmation code', T, async () => {
  configure(await pool('confirm', { autoConfirm: false }));
  const phone = uniquePhone();
  let mark = await lk.mark(phone);
  await signUp({ username: phone });
  const first = await lk.codeAfter(phone, mark);

  mark = await lk.mark(phone);
  const details = await resendSignUpCode({ username: phone });
  assert.equal(details.deliveryMedium, 'SMS');
  assert.equal(details.attributeName, 'phone_number');
  assert.match(details.destination, MASKED_PHONE);
  const second = await lk.codeAfter(phone, mark);

  if (first !== second) {
    await assert.rejects(confirmSignUp({ username: phone, confirmationCode: first }), (err) =>
      ['CodeMismatchException', 'ExpiredCodeException'].includes(err.name),
    );
  }
  const done = await confirmSignUp({ username: phone, confirmationCode: second });
  assert.deepEqual(done, { isSignUpComplete: true, nextStep: { signUpStep: 'DONE' } });
  await rejectsWithName(confirmSignUp({ username: phone, confirmationCode: second }), 'NotAuthorizedException');
});

// --- sign-in --------------------------------------------------------------

test("signIn USER_AUTH with preferredChallenge 'SMS_OTP'", T, async () => {
  const phone = uniquePhone();
  await newUser(phone);
  const mark = await lk.mark(phone);
  const from = trace.log.length;
  const step = await signIn({ username: phone, options: { authFlowType: 'USER_AUTH', preferredChallenge: 'SMS_OTP' } });
  assert.equal(step.isSignedIn, false);
  assert.equal(step.nextStep.signInStep, 'CONFIRM_SIGN_IN_WITH_SMS_CODE');
  assert.equal(step.nextStep.codeDeliveryDetails.deliveryMedium, 'SMS');
  assert.match(step.nextStep.codeDeliveryDetails.destination, MASKED_PHONE);
  assert.ok(step.nextStep.codeDeliveryDetails.destination.endsWith(phone.slice(-4)));
  assert.deepEqual(calls(from)[0].request.AuthParameters, { USERNAME: phone, PREFERRED_CHALLENGE: 'SMS_OTP' });
  const code = await lk.codeAfter(phone, mark);

  // A wrong code throws and leaves the step open for another try.
  await rejectsWithName(confirmSignIn({ challengeResponse: wrongCode(code) }), 'CodeMismatchException');
  const done = await confirmSignIn({ challengeResponse: code });
  assert.deepEqual(done, { isSignedIn: true, nextStep: { signInStep: 'DONE' } });
  const user = await getCurrentUser();
  assert.equal(user.username, phone);
});

test("signIn USER_AUTH with preferredChallenge 'EMAIL_OTP'", T, async () => {
  const email = uniqueEmail();
  await newUser(email);
  const mark = await lk.mark(email);
  const step = await signIn({ username: email, options: { authFlowType: 'USER_AUTH', preferredChallenge: 'EMAIL_OTP' } });
  assert.equal(step.isSignedIn, false);
  assert.equal(step.nextStep.signInStep, 'CONFIRM_SIGN_IN_WITH_EMAIL_CODE');
  assert.equal(step.nextStep.codeDeliveryDetails.deliveryMedium, 'EMAIL');
  assert.match(step.nextStep.codeDeliveryDetails.destination, MASKED_EMAIL);
  const done = await confirmSignIn({ challengeResponse: await lk.codeAfter(email, mark) });
  assert.deepEqual(done, { isSignedIn: true, nextStep: { signInStep: 'DONE' } });
});

test('signIn USER_AUTH without a preference offers the first factors', T, async () => {
  const phone = uniquePhone();
  await newUser(phone);
  const step = await signIn({ username: phone, options: { authFlowType: 'USER_AUTH' } });
  assert.equal(step.isSignedIn, false);
  assert.equal(step.nextStep.signInStep, 'CONTINUE_SIGN_IN_WITH_FIRST_FACTOR_SELECTION');
  assert.ok(Array.isArray(step.nextStep.availableChallenges));
  assert.ok(step.nextStep.availableChallenges.includes('SMS_OTP'), `${step.nextStep.availableChallenges}`);

  const mark = await lk.mark(phone);
  const from = trace.log.length;
  const code = await confirmSignIn({ challengeResponse: 'SMS_OTP' });
  assert.equal(code.nextStep.signInStep, 'CONFIRM_SIGN_IN_WITH_SMS_CODE');
  assert.equal(code.nextStep.codeDeliveryDetails.deliveryMedium, 'SMS');
  assert.match(code.nextStep.codeDeliveryDetails.destination, MASKED_PHONE);
  const [select] = calls(from);
  assert.equal(select.request.ChallengeName, 'SELECT_CHALLENGE');
  assert.deepEqual(select.request.ChallengeResponses, { USERNAME: phone, ANSWER: 'SMS_OTP' });

  const done = await confirmSignIn({ challengeResponse: await lk.codeAfter(phone, mark) });
  assert.deepEqual(done, { isSignedIn: true, nextStep: { signInStep: 'DONE' } });
});

test("signIn with authFlowType 'CUSTOM_WITHOUT_SRP'", T, async () => {
  const phone = uniquePhone();
  await newUser(phone);
  const mark = await lk.mark(phone);
  const step = await signIn({ username: phone, options: { authFlowType: 'CUSTOM_WITHOUT_SRP' } });
  assert.equal(step.isSignedIn, false);
  assert.equal(step.nextStep.signInStep, 'CONFIRM_SIGN_IN_WITH_CUSTOM_CHALLENGE');
  assert.equal(step.nextStep.additionalInfo.USERNAME, phone);
  assert.equal(step.nextStep.additionalInfo.CODE_DELIVERY_DELIVERY_MEDIUM, 'SMS');
  assert.match(step.nextStep.additionalInfo.CODE_DELIVERY_DESTINATION, MASKED_PHONE);
  const code = await lk.codeAfter(phone, mark);

  const again = await confirmSignIn({ challengeResponse: wrongCode(code) });
  assert.equal(again.isSignedIn, false);
  assert.equal(again.nextStep.signInStep, 'CONFIRM_SIGN_IN_WITH_CUSTOM_CHALLENGE');
  assert.equal(again.nextStep.additionalInfo.USERNAME, phone);

  const done = await confirmSignIn({ challengeResponse: code });
  assert.deepEqual(done, { isSignedIn: true, nextStep: { signInStep: 'DONE' } });
  assert.equal((await getCurrentUser()).username, phone);
});

test('an email username signs in whatever its case', T, async () => {
  const email = uniqueEmail();
  await newUser(email);
  const shouted = email.toUpperCase();

  let mark = await lk.mark(email);
  let step = await signIn({ username: shouted, options: { authFlowType: 'USER_AUTH', preferredChallenge: 'EMAIL_OTP' } });
  assert.equal(step.nextStep.signInStep, 'CONFIRM_SIGN_IN_WITH_EMAIL_CODE');
  let done = await confirmSignIn({ challengeResponse: await lk.codeAfter(email, mark) });
  assert.deepEqual(done, { isSignedIn: true, nextStep: { signInStep: 'DONE' } });
  assert.equal((await getCurrentUser()).username, email);
  await signOut();

  mark = await lk.mark(email);
  step = await signIn({ username: shouted, options: { authFlowType: 'CUSTOM_WITHOUT_SRP' } });
  assert.equal(step.nextStep.signInStep, 'CONFIRM_SIGN_IN_WITH_CUSTOM_CHALLENGE');
  assert.equal(step.nextStep.additionalInfo.USERNAME, email, 'ChallengeParameters.USERNAME is the canonical username');
  done = await confirmSignIn({ challengeResponse: await lk.codeAfter(email, mark) });
  assert.deepEqual(done, { isSignedIn: true, nextStep: { signInStep: 'DONE' } });
  assert.equal((await getCurrentUser()).username, email);
});

test('an unknown user is asked for a code that never works', T, async () => {
  const phone = uniquePhone(); // never signed up
  const step = await signIn({ username: phone, options: { authFlowType: 'USER_AUTH', preferredChallenge: 'SMS_OTP' } });
  assert.equal(step.isSignedIn, false);
  assert.equal(step.nextStep.signInStep, 'CONFIRM_SIGN_IN_WITH_SMS_CODE');
  assert.match(step.nextStep.codeDeliveryDetails.destination, MASKED_PHONE);
  assert.equal(await lk.mark(phone), 0, 'nothing was sent');
  await rejectsWithName(confirmSignIn({ challengeResponse: '123456' }), 'CodeMismatchException');
});

// --- session and user -----------------------------------------------------

test('fetchAuthSession returns the tokens', T, async () => {
  const phone = uniquePhone();
  const userId = await newUser(phone);
  await signInByCode(phone);
  const { tokens, userSub } = await fetchAuthSession();
  assert.ok(tokens?.accessToken && tokens?.idToken, 'tokens');
  assert.equal(userSub, userId);
  const id = tokens.idToken.payload;
  assert.equal(id.sub, userId);
  assert.equal(id['cognito:username'], phone);
  assert.equal(id.token_use, 'id');
  assert.equal(tokens.accessToken.payload.token_use, 'access');
  assert.equal(tokens.accessToken.payload.sub, userId);
  assert.equal(typeof tokens.accessToken.payload.iat, 'number');
});

test('fetchAuthSession refreshes expired tokens with GetTokensFromRefreshToken', T, async () => {
  const shortLived = await pool('short', { accessTokenTtl: '10s', idTokenTtl: '10s' });
  configure(shortLived);
  const phone = uniquePhone();
  await newUser(phone);
  await signInByCode(phone);
  const first = (await fetchAuthSession()).tokens;
  const { iat, exp } = first.accessToken.payload;
  assert.equal(exp - iat, 10);

  // Amplify treats tokens as expired 5 s before exp; wait until they really are.
  await sleep(exp * 1000 - Date.now() + 1000);
  await assert.rejects(
    sdk.send(new GetUserCommand({ AccessToken: first.accessToken.toString() })),
    (err) => err.name === 'NotAuthorizedException' && err.message === 'Access Token has expired',
  );

  const from = trace.log.length;
  const second = (await fetchAuthSession()).tokens;
  const refresh = calls(from).find((c) => c.target === 'GetTokensFromRefreshToken');
  assert.ok(refresh, `Amplify called GetTokensFromRefreshToken (calls: ${calls(from).map((c) => c.target)})`);
  assert.equal(refresh.status, 200);
  assert.ok(second.accessToken.payload.iat > iat, 'a later iat');
  assert.ok(second.idToken.payload.iat > first.idToken.payload.iat, 'a new ID token');
  assert.notEqual(second.accessToken.toString(), first.accessToken.toString());
  assert.equal(second.idToken.payload.sub, first.idToken.payload.sub);
  assert.equal(second.idToken.payload.auth_time, first.idToken.payload.auth_time, 'auth_time is the sign-in time');
  const me = await sdk.send(new GetUserCommand({ AccessToken: second.accessToken.toString() }));
  assert.equal(me.Username, phone);
});

test('an expired refresh token signs Amplify out', T, async () => {
  configure(await pool('short-refresh', { accessTokenTtl: '5s', idTokenTtl: '5s', refreshTokenTtl: '6s' }));
  const phone = uniquePhone();
  await newUser(phone);
  await signInByCode(phone);
  await sleep(7_000);
  const from = trace.log.length;
  const { tokens } = await fetchAuthSession();
  assert.equal(tokens, undefined, 'no tokens after the refresh token expired');
  const refresh = calls(from).find((c) => c.target === 'GetTokensFromRefreshToken');
  assert.equal(refresh?.status, 400);
  assert.deepEqual(refresh.response, { __type: 'NotAuthorizedException', message: 'Refresh Token has expired' });
  await rejectsWithName(getCurrentUser(), 'UserUnAuthenticatedException');
});

test('getCurrentUser', T, async () => {
  const email = uniqueEmail();
  const userId = await newUser(email);
  await signInByCode(email);
  const user = await getCurrentUser();
  assert.equal(user.username, email);
  assert.equal(user.userId, userId);
  assert.deepEqual(user.signInDetails, { loginId: email, authFlowType: 'USER_AUTH' });
});

test('fetchUserAttributes', T, async () => {
  const phone = uniquePhone();
  const userId = await newUser(phone);
  await signInByCode(phone);
  const attrs = await fetchUserAttributes();
  assert.deepEqual(attrs, { sub: userId, phone_number: phone, phone_number_verified: 'true' });
});

test('updateUserAttributes: name, then a new email confirmed with a code', T, async () => {
  const phone = uniquePhone();
  await newUser(phone);
  await signInByCode(phone);

  const named = await updateUserAttributes({ userAttributes: { name: 'Ada' } });
  assert.deepEqual(named, { name: { isUpdated: true, nextStep: { updateAttributeStep: 'DONE' } } });
  assert.equal((await fetchUserAttributes()).name, 'Ada');

  const email = uniqueEmail();
  const mark = await lk.mark(email);
  const changed = await updateUserAttributes({ userAttributes: { email } });
  assert.equal(changed.email.isUpdated, false);
  assert.equal(changed.email.nextStep.updateAttributeStep, 'CONFIRM_ATTRIBUTE_WITH_CODE');
  assert.equal(changed.email.nextStep.codeDeliveryDetails.attributeName, 'email');
  assert.equal(changed.email.nextStep.codeDeliveryDetails.deliveryMedium, 'EMAIL');
  assert.match(changed.email.nextStep.codeDeliveryDetails.destination, MASKED_EMAIL);
  const code = await lk.codeAfter(email, mark);
  let attrs = await fetchUserAttributes();
  assert.equal(attrs.email, email);
  assert.equal(attrs.email_verified, 'false');

  await rejectsWithName(confirmUserAttribute({ userAttributeKey: 'email', confirmationCode: wrongCode(code) }), 'CodeMismatchException');
  await confirmUserAttribute({ userAttributeKey: 'email', confirmationCode: code });
  attrs = await fetchUserAttributes();
  assert.equal(attrs.email, email);
  assert.equal(attrs.email_verified, 'true');
  assert.equal(attrs.name, 'Ada');
  assert.equal(attrs.phone_number, phone);
});

test('sendUserAttributeVerificationCode sends a new code', T, async () => {
  const phone = uniquePhone();
  await newUser(phone);
  await signInByCode(phone);
  const email = uniqueEmail();
  let mark = await lk.mark(email);
  await updateUserAttributes({ userAttributes: { email } });
  await lk.codeAfter(email, mark);

  mark = await lk.mark(email);
  const details = await sendUserAttributeVerificationCode({ userAttributeKey: 'email' });
  assert.deepEqual(Object.keys(details).sort(), ['attributeName', 'deliveryMedium', 'destination']);
  assert.equal(details.attributeName, 'email');
  assert.equal(details.deliveryMedium, 'EMAIL');
  assert.match(details.destination, MASKED_EMAIL);
  const code = await lk.codeAfter(email, mark);
  await confirmUserAttribute({ userAttributeKey: 'email', confirmationCode: code });
  assert.equal((await fetchUserAttributes()).email_verified, 'true');
});

/** A phone-number user who added an email and verified it; leaves Amplify signed out. */
async function phoneUserWithVerifiedEmail() {
  const phone = uniquePhone();
  const userId = await newUser(phone);
  await signInByCode(phone);
  const email = uniqueEmail();
  const mark = await lk.mark(email);
  await updateUserAttributes({ userAttributes: { email } });
  await confirmUserAttribute({ userAttributeKey: 'email', confirmationCode: await lk.codeAfter(email, mark) });
  await signOut();
  return { phone, email, userId };
}

// In a Cognito pool whose username attributes are email and phone_number
// (what loginWith { phone, email } stands for), a user signs in with either
// attribute, whichever one was given at sign-up.
test(
  'a verified email attribute is a sign-in identifier',
  T,
  async () => {
    const { email, userId } = await phoneUserWithVerifiedEmail();
    const mark = await lk.mark(email);
    const step = await signIn({ username: email, options: { authFlowType: 'USER_AUTH', preferredChallenge: 'EMAIL_OTP' } });
    assert.equal(step.nextStep.signInStep, 'CONFIRM_SIGN_IN_WITH_EMAIL_CODE');
    const done = await confirmSignIn({ challengeResponse: await lk.codeAfter(email, mark) });
    assert.deepEqual(done, { isSignedIn: true, nextStep: { signInStep: 'DONE' } });
    assert.equal((await getCurrentUser()).userId, userId);
  },
);

test(
  "another user's verified email cannot be signed up again",
  T,
  async () => {
    const { email } = await phoneUserWithVerifiedEmail();
    await rejectsWithName(signUp({ username: email }), 'UsernameExistsException');
  },
);

test(
  'an email-username user changes their email',
  T,
  async () => {
    const email = uniqueEmail();
    const userId = await newUser(email);
    await signInByCode(email);
    const next = uniqueEmail();
    const mark = await lk.mark(next);
    const changed = await updateUserAttributes({ userAttributes: { email: next } });
    assert.equal(changed.email.nextStep.updateAttributeStep, 'CONFIRM_ATTRIBUTE_WITH_CODE');
    await confirmUserAttribute({ userAttributeKey: 'email', confirmationCode: await lk.codeAfter(next, mark) });
    const attrs = await fetchUserAttributes();
    assert.equal(attrs.email, next);
    assert.equal(attrs.email_verified, 'true');
    await signOut();
    await signInByCode(next);
    assert.equal((await getCurrentUser()).userId, userId);
  },
);

test("CORS: a browser may send Amplify's requests", T, async () => {
  // The header names Amplify put on its requests so far in this file.
  const sent = new Set(trace.log.flatMap((c) => c.requestHeaders.map((h) => h.toLowerCase())));
  for (const h of ['content-type', 'x-amz-target', 'x-amz-user-agent']) assert.ok(sent.has(h), `Amplify sent ${h}`);
  const origin = 'http://localhost:5173';
  const pre = await fetch(`${lk.url}/`, {
    method: 'OPTIONS',
    headers: {
      Origin: origin,
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': [...sent].sort().join(','),
    },
  });
  assert.ok(pre.status === 200 || pre.status === 204, `preflight status ${pre.status}`);
  const allowOrigin = pre.headers.get('access-control-allow-origin');
  assert.ok(allowOrigin === '*' || allowOrigin === origin, `Access-Control-Allow-Origin: ${allowOrigin}`);
  const methods = (pre.headers.get('access-control-allow-methods') ?? '').toUpperCase().split(/\s*,\s*/);
  assert.ok(methods.includes('POST'), `Access-Control-Allow-Methods: ${methods}`);
  const allowed = (pre.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/\s*,\s*/);
  for (const h of sent) assert.ok(allowed.includes('*') || allowed.includes(h), `Access-Control-Allow-Headers lacks ${h}`);

  // The POST itself, success and error, carries the CORS header too.
  for (const body of [{ ClientId: lk.clientId, Username: uniquePhone() }, { ClientId: lk.clientId, Username: 'nope' }]) {
    const res = await fetch(`${lk.url}/`, {
      method: 'POST',
      headers: {
        Origin: origin,
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'AWSCognitoIdentityProviderService.SignUp',
      },
      body: JSON.stringify(body),
    });
    const o = res.headers.get('access-control-allow-origin');
    assert.ok(o === '*' || o === origin, `POST ${res.status}: Access-Control-Allow-Origin ${o}`);
  }
});

test('signOut revokes the refresh token', T, async () => {
  const phone = uniquePhone();
  await newUser(phone);
  await signInByCode(phone);
  const { tokens } = await fetchAuthSession();
  assert.ok(tokens.accessToken.payload.origin_jti, 'origin_jti makes Amplify call RevokeToken');
  const from = trace.log.length;
  await signOut();
  const revoke = calls(from).find((c) => c.target === 'RevokeToken');
  assert.ok(revoke, 'RevokeToken was called');
  assert.equal(revoke.status, 200);
  const refreshToken = revoke.request.Token;
  await assert.rejects(
    sdk.send(new GetTokensFromRefreshTokenCommand({ ClientId: lk.clientId, RefreshToken: refreshToken })),
    (err) => err.name === 'NotAuthorizedException',
  );
  await rejectsWithName(getCurrentUser(), 'UserUnAuthenticatedException');
});

test('signOut({ global: true }) revokes the access token', T, async () => {
  const phone = uniquePhone();
  await newUser(phone);
  await signInByCode(phone);
  const accessToken = (await fetchAuthSession()).tokens.accessToken.toString();
  await sdk.send(new GetUserCommand({ AccessToken: accessToken }));

  const from = trace.log.length;
  await signOut({ global: true });
  const global = calls(from).find((c) => c.target === 'GlobalSignOut');
  assert.ok(global, 'GlobalSignOut was called');
  assert.equal(global.status, 200);
  assert.deepEqual(global.response, {});
  await assert.rejects(sdk.send(new GetUserCommand({ AccessToken: accessToken })), (err) => {
    assert.equal(err.name, 'NotAuthorizedException');
    assert.equal(err.message, 'Access Token has been revoked');
    assert.equal(err.$metadata.httpStatusCode, 400);
    return true;
  });
  const { tokens } = await fetchAuthSession();
  assert.equal(tokens, undefined, 'Amplify dropped its tokens');
});

test('deleteUser', T, async () => {
  const email = uniqueEmail();
  await newUser(email);
  await signInByCode(email);
  const accessToken = (await fetchAuthSession()).tokens.accessToken.toString();
  const from = trace.log.length;
  await deleteUser();
  const del = calls(from).find((c) => c.target === 'DeleteUser');
  assert.equal(del?.status, 200);
  assert.deepEqual(del.response, {});
  await rejectsWithName(getCurrentUser(), 'UserUnAuthenticatedException');
  await assert.rejects(sdk.send(new GetUserCommand({ AccessToken: accessToken })), (err) => err.name === 'NotAuthorizedException');
  // The username is free again.
  assert.equal((await signUp({ username: email })).nextStep.signUpStep, 'DONE');
});
