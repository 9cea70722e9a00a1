// Sign up and sign in by phone against Latchkey with AWS Amplify v6.
//
// Latchkey speaks the Cognito user-pools API, so this is ordinary Amplify
// code: the only Latchkey-specific line is userPoolEndpoint.
import { Amplify } from 'aws-amplify';
import {
  confirmSignIn,
  fetchUserAttributes,
  getCurrentUser,
  signIn,
  signOut,
  signUp,
} from 'aws-amplify/auth';

const config = {
  endpoint: import.meta.env.VITE_LATCHKEY_URL,
  userPoolId: import.meta.env.VITE_USER_POOL_ID,
  userPoolClientId: import.meta.env.VITE_USER_POOL_CLIENT_ID,
};

const $ = (id) => document.getElementById(id);
const phoneForm = $('phone-form');
const codeForm = $('code-form');
const userSection = $('user');
const errorBox = $('error');

// show displays one of the three views and clears any error.
function show(view) {
  phoneForm.hidden = view !== phoneForm;
  codeForm.hidden = view !== codeForm;
  userSection.hidden = view !== userSection;
  showError('');
  view.querySelector('input')?.focus();
}

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = !message;
}

// busy disables a form's buttons while a request runs.
async function busy(form, fn) {
  const buttons = form.querySelectorAll('button');
  buttons.forEach((b) => (b.disabled = true));
  try {
    await fn();
  } catch (err) {
    console.error(err);
    showError(friendlyError(err));
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
}

// friendlyError turns an Amplify or Cognito error into a sentence for a
// person. Errors are told apart by name, as Cognito (and Latchkey) set it.
function friendlyError(err) {
  switch (err?.name) {
    case 'EmptySignUpUsername':
    case 'EmptySignInUsername':
      return 'Enter your phone number.';
    case 'EmptyConfirmSignInChallengeResponse':
      return 'Enter the code we sent you.';
    case 'InvalidParameterException':
      // Latchkey says what is wrong with the number, e.g. a missing +.
      return `That phone number does not work: ${err.message}`;
    case 'CodeMismatchException':
      return 'That code is not right. Check it and try again.';
    case 'NotAuthorizedException':
      return 'This sign-in has ended (too many wrong codes, or it took too long). Start again.';
    case 'ExpiredCodeException':
      return 'That code has expired. Start again to get a new one.';
    case 'CodeDeliveryFailureException':
      return 'We could not send you a code. Try again later.';
    case 'LimitExceededException':
    case 'TooManyRequestsException':
      return 'Too many attempts. Wait a little and try again.';
    case 'UserNotConfirmedException':
      return 'This account is not confirmed yet.';
    case 'SignInException':
      return 'The sign-in was interrupted. Start again.';
    case 'NetworkError':
      return `Cannot reach Latchkey at ${config.endpoint}. Is it running, and does --cors-origins allow this page's origin?`;
    case 'InvalidUserPoolId':
    case 'AuthUserPoolException':
    case 'ResourceNotFoundException':
      return 'The user pool or app client id is wrong. Check .env.local against the ids Latchkey printed.';
    default:
      return err?.message || 'Something went wrong. Try again.';
  }
}

// normalisePhone drops the spaces, dashes, dots and brackets people type.
function normalisePhone(raw) {
  return raw.replace(/[\s\-.()]/g, '');
}

// startSignIn signs the number up (a no-op error when it exists already),
// then asks Latchkey to send an SMS code.
async function startSignIn(phone) {
  try {
    // No password: Latchkey is passwordless, and new users are confirmed
    // at once.
    await signUp({ username: phone });
  } catch (err) {
    if (err.name !== 'UsernameExistsException') throw err;
  }
  const { nextStep } = await signIn({
    username: phone,
    options: { authFlowType: 'USER_AUTH', preferredChallenge: 'SMS_OTP' },
  });
  handleStep(nextStep);
}

function handleStep(nextStep) {
  switch (nextStep.signInStep) {
    case 'CONFIRM_SIGN_IN_WITH_SMS_CODE': {
      const dest = nextStep.codeDeliveryDetails?.destination;
      $('code-hint').textContent = dest ? `We sent a 6-digit code to ${dest}.` : 'We sent you a 6-digit code.';
      $('code').value = '';
      show(codeForm);
      return;
    }
    case 'DONE':
      return showUser();
    default:
      throw new Error(`Unexpected sign-in step ${nextStep.signInStep}.`);
  }
}

async function showUser() {
  const { username, userId } = await getCurrentUser();
  const attributes = await fetchUserAttributes();
  const rows = [
    ['Username', username],
    ['User id (sub)', userId],
    ...Object.entries(attributes).filter(([name]) => name !== 'sub'),
  ];
  const dl = $('user-details');
  dl.replaceChildren(
    ...rows.flatMap(([name, value]) => {
      const dt = document.createElement('dt');
      dt.textContent = name;
      const dd = document.createElement('dd');
      dd.textContent = value;
      return [dt, dd];
    }),
  );
  show(userSection);
}

phoneForm.addEventListener('submit', (e) => {
  e.preventDefault();
  busy(phoneForm, () => startSignIn(normalisePhone($('phone').value)));
});

codeForm.addEventListener('submit', (e) => {
  e.preventDefault();
  busy(codeForm, async () => {
    try {
      const { nextStep } = await confirmSignIn({ challengeResponse: $('code').value.trim() });
      handleStep(nextStep);
    } catch (err) {
      // The sign-in is over (the third wrong code, or too slow): back to
      // the number, which is still filled in.
      if (err.name === 'NotAuthorizedException' || err.name === 'SignInException') show(phoneForm);
      throw err;
    }
  });
});

$('code-cancel').addEventListener('click', () => show(phoneForm));

$('sign-out').addEventListener('click', () =>
  busy(userSection, async () => {
    await signOut();
    show(phoneForm);
  }),
);

async function main() {
  const missing = Object.entries({
    VITE_LATCHKEY_URL: config.endpoint,
    VITE_USER_POOL_ID: config.userPoolId,
    VITE_USER_POOL_CLIENT_ID: config.userPoolClientId,
  })
    .filter(([, value]) => !value)
    .map(([name]) => name);
  if (missing.length > 0) {
    showError(`Set ${missing.join(', ')} in .env.local (see .env.example), then restart npm run dev.`);
    return;
  }

  Amplify.configure({
    Auth: {
      Cognito: {
        userPoolId: config.userPoolId,
        userPoolClientId: config.userPoolClientId,
        userPoolEndpoint: config.endpoint,
        loginWith: { phone: true },
      },
    },
  });

  // Amplify keeps the tokens in localStorage, so a reload stays signed in.
  try {
    await getCurrentUser();
  } catch {
    show(phoneForm);
    return;
  }
  try {
    await showUser();
  } catch (err) {
    // Tokens this Latchkey no longer accepts (signed out elsewhere, or a
    // fresh data directory): forget them and start over.
    console.error(err);
    await signOut().catch(() => {});
    show(phoneForm);
    showError('Your previous session has ended. Sign in again.');
  }
}

main();
